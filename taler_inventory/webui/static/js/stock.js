// Live stock: the cart locks that hold stock now, each with a countdown to its
// expiry, the next expiry, and a button to release a cart.  Refreshes by itself.
import * as api from "./api.js";
import {
  add, alertBox, announce, countdown, field, h, hashFor, quantityText, spokenCountdown,
  timestamp,
} from "./ui.js";

const REFRESH_MS = 5000;
const LIMIT = 1000;

/**
 * Fill `container` with the live locks GET .../private/locks lists for `filter`
 * ({product_id} or {lock_uuid} or nothing) and keep them current.
 */
export async function liveLocks(container, filter, { unit, onChange } = {}, ctx) {
  const showProduct = !filter.product_id;
  const showCart = !filter.lock_uuid;
  const next = h("p", { class: "next", id: "next-expiry" });
  const status = h("p", { class: "help", id: "locks-updated" });
  const problem = h("div");
  const body = h("tbody");
  const table = h("div", { class: "table-wrap" }, h("table", { id: "locks-table" },
    h("caption", {}, filter.lock_uuid ? "What the cart holds" : "Live cart locks"),
    h("thead", {}, h("tr", {},
      showCart ? h("th", { scope: "col" }, "Cart (lock uuid)") : null,
      showProduct ? h("th", { scope: "col" }, "Product") : null,
      h("th", { scope: "col", class: "num" }, "Quantity"),
      h("th", { scope: "col" }, "Expires"),
      h("th", { scope: "col", class: "num" }, "Time left"),
      showCart ? h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Action")) : null)),
    body));
  container.replaceChildren(next, problem, table, status);
  let locks = [];
  let loading = false;

  async function load() {
    if (loading) return;
    loading = true;
    try {
      const answer = await api.call("GET", "/private/locks", { query: { ...filter, limit: LIMIT } });
      const received = Date.now();
      // The countdown runs on this browser's clock from the server's "remaining",
      // so a skew between the two clocks does not matter.
      locks = answer.locks.map((lock) => ({ ...lock, until: lock.remaining.d_us === "forever"
        ? Infinity : received + lock.remaining.d_us / 1000 }));
      problem.replaceChildren();
      draw();
      status.textContent = `Updated ${new Date(received).toLocaleTimeString()}; refreshes every ${REFRESH_MS / 1000} s.`
        + (answer.locks.length === LIMIT ? ` Showing the first ${LIMIT}.` : "");
      if (onChange) await onChange(locks);
    } catch (err) {
      problem.replaceChildren(alertBox(err));
    } finally {
      loading = false;
    }
  }

  function draw() {
    body.replaceChildren(...(locks.length ? locks.map(row)
      : [h("tr", {}, h("td", { colspan: 6 }, "No live lock: nothing is held by a cart right now."))]));
    tick();
  }

  function row(lock) {
    return h("tr", { "data-lock": `${lock.lock_uuid}|${lock.product_id}` },
      showCart ? h("th", { scope: "row" }, h("a", { href: hashFor(["cart", lock.lock_uuid]) }, lock.lock_uuid)) : null,
      showProduct ? h(showCart ? "td" : "th", showCart ? {} : { scope: "row" },
        h("a", { href: hashFor(["product", lock.product_id]) }, lock.product_id)) : null,
      h("td", { class: "num" }, quantityText(lock.unit_quantity, unit)),
      h("td", {}, timestamp(lock.expiration)),
      h("td", { class: "num" }, h("span", { class: "countdown", role: "timer", "data-until": String(lock.until) })),
      showCart ? h("td", {}, h("button", { type: "button", class: "secondary small",
        "aria-label": `Release cart ${lock.lock_uuid} (all its locks)`,
        onclick: (event) => release(lock.lock_uuid, event.currentTarget) }, "Release cart")) : null);
  }

  function tick() {
    let expired = false;
    body.querySelectorAll(".countdown").forEach((el) => {
      const until = Number(el.dataset.until);
      if (until === Infinity) {
        el.textContent = "no end";
        return;
      }
      el.textContent = countdown(until);
      el.setAttribute("aria-label", `${spokenCountdown(until)} left`);
      if (until <= Date.now()) {
        expired = true;
        el.closest("tr").remove();
      }
    });
    locks = locks.filter((lock) => lock.until > Date.now());
    const first = locks.reduce((a, b) => (b.until < (a?.until ?? Infinity) ? b : a), null);
    if (!locks.length) {
      next.textContent = "No live lock.";
      if (!body.children.length) draw();
    } else if (first && first.until !== Infinity) {
      next.textContent = `Next lock expires in ${countdown(first.until)} (cart ${first.lock_uuid}`
        + `${showProduct ? `, ${first.product_id}` : ""}): its stock frees up then.`;
    } else {
      next.textContent = "The live locks have no end.";
    }
    if (expired) load();
  }

  async function release(uuid, button) {
    button.disabled = true;
    try {
      await api.call("DELETE", `/private/locks/${encodeURIComponent(uuid)}`);
      announce(`Cart ${uuid} released.`);
    } catch (err) {
      problem.replaceChildren(alertBox(err));
    }
    await load();
  }

  ctx.every(tick, 1000);
  ctx.every(load, REFRESH_MS);
  await load();
  return load;
}

export async function overview(page, _parts, _query, ctx) {
  const finder = h("form", { class: "filters", role: "search", "aria-label": "Find a cart" },
    field("Cart (lock uuid)", { name: "cart", autocomplete: "off", required: true }),
    h("button", { type: "submit" }, "Show cart"));
  finder.addEventListener("submit", (event) => {
    event.preventDefault();
    const uuid = new FormData(finder).get("cart").trim();
    if (uuid) location.hash = hashFor(["cart", uuid]);
  });
  const locksEl = h("div");
  add(page, h("h1", {}, "Live stock"),
    h("p", {}, "Every cart lock that holds stock now, oldest first. A lock holds nothing once its time is up."),
    finder, locksEl);
  await liveLocks(locksEl, {}, {}, ctx);
}

export async function cart(page, parts, _query, ctx) {
  const uuid = parts[0];
  const locksEl = h("div");
  const problem = h("div");
  let reload = async () => {};
  const releaseAll = h("button", { type: "button", class: "danger", onclick: async () => {
    releaseAll.disabled = true;
    try {
      await api.call("DELETE", `/private/locks/${encodeURIComponent(uuid)}`);
      announce(`Cart ${uuid} released.`);
      problem.replaceChildren();
    } catch (err) {
      problem.replaceChildren(alertBox(err));
    }
    releaseAll.disabled = false;
    await reload();
  } }, "Release the whole cart");
  add(page, h("p", {}, h("a", { href: "#/locks" }, "← Live stock")),
    h("h1", {}, `Cart ${uuid}`), h("div", { class: "actions" }, releaseAll), problem, locksEl);
  reload = await liveLocks(locksEl, { lock_uuid: uuid }, {}, ctx);
}
