// Orders: the list (newest first, by payment state) and an order's page.
import * as api from "./api.js";
import {
  add, alertBox, announce, field, fill, h, hashFor, notice, select, timestamp,
} from "./ui.js";

const PAGE_SIZE = 20;
const REFRESH_MS = 5000;
// What GET .../private/orders filters by: Taler's "paid" parameter.  Refunds are
// not handled by this backend, so there is no "refunded" filter to offer.
const STATUS = [["", "All orders"], ["no", "Unpaid"], ["yes", "Paid"]];

function badge(paid) {
  return h("span", { class: `badge ${paid ? "paid" : "unpaid"}` }, paid ? "Paid" : "Unpaid");
}

export async function list(page, _parts, query, ctx) {
  const paid = STATUS.some(([v]) => v === query.paid) ? query.paid : "";
  const offset = query.before || undefined;
  const filter = h("form", { class: "filters", "aria-label": "Filter orders" },
    field("Show", {}, { control: select("paid", STATUS, paid) }));
  filter.paid.addEventListener("change", () => {
    location.hash = hashFor(["orders"], { paid: filter.paid.value });
  });
  filter.addEventListener("submit", (event) => event.preventDefault());
  const body = h("tbody");
  const problem = h("div");
  const pager = h("nav", { class: "pager", "aria-label": "Order pages" });
  add(page, h("h1", {}, "Orders"), filter, problem,
    h("div", { class: "table-wrap" }, h("table", { id: "orders-table" },
      h("caption", {}, "Newest first"),
      h("thead", {}, h("tr", {}, ["Order", "Created", "Summary", "Amount", "Status"].map((t) =>
        h("th", { scope: "col", class: t === "Amount" ? "num" : null }, t)))), body)), pager);

  async function load() {
    try {
      // A negative limit lists newest first, below `offset`.
      const { orders } = await api.call("GET", "/private/orders",
        { query: { limit: -PAGE_SIZE, offset, paid: paid || undefined } });
      body.replaceChildren(...(orders.length ? orders.map((o) => h("tr", { "data-order": o.order_id },
        h("th", { scope: "row" }, h("a", { href: hashFor(["order", o.order_id]) }, o.order_id)),
        h("td", {}, timestamp(o.timestamp)), h("td", {}, o.summary),
        h("td", { class: "num" }, o.amount), h("td", {}, badge(o.paid))))
        : [h("tr", {}, h("td", { colspan: 5 }, "No order."))]));
      fill(pager,
        offset ? h("a", { class: "button secondary", href: hashFor(["orders"], { paid }) }, "Newest orders") : null,
        orders.length === PAGE_SIZE ? h("a", { class: "button secondary",
          href: hashFor(["orders"], { paid, before: orders[orders.length - 1].row_id }) }, "Older orders") : null);
      problem.replaceChildren();
    } catch (err) {
      problem.replaceChildren(alertBox(err));
    }
  }
  await load();
  if (!offset) ctx.every(load, REFRESH_MS);
}

/** Any JSON value as nested definition lists (the contract terms). */
function tree(value) {
  if (Array.isArray(value)) {
    if (!value.length) return h("span", { class: "muted" }, "none");
    return h("ol", {}, value.map((item) => h("li", {}, tree(item))));
  }
  if (value && typeof value === "object") {
    if ("t_s" in value && Object.keys(value).length === 1) return timestamp(value);
    const keys = Object.keys(value);
    if (!keys.length) return h("span", { class: "muted" }, "none");
    return h("dl", { class: "tree" }, keys.map((k) => [h("dt", {}, k), h("dd", {}, tree(value[k]))]));
  }
  return String(value);
}

function lines(products) {
  return h("div", { class: "table-wrap" }, h("table", { id: "order-lines" },
    h("caption", {}, "Lines"),
    h("thead", {}, h("tr", {}, ["Product", "Description", "Quantity", "Price"].map((t) =>
      h("th", { scope: "col", class: t === "Quantity" || t === "Price" ? "num" : null }, t)))),
    h("tbody", {}, (products || []).map((p) => h("tr", {},
      h("th", { scope: "row" }, p.product_id
        ? h("a", { href: hashFor(["product", p.product_id]) }, p.product_name || p.product_id) : "—"),
      h("td", {}, p.description || ""),
      h("td", { class: "num" }, p.unit_quantity ?? p.quantity ?? "", p.unit ? ` ${p.unit}` : ""),
      h("td", { class: "num" }, p.price || ""))))));
}

export async function page(el, parts, _query, ctx) {
  const orderId = parts[0];
  const path = `/private/orders/${encodeURIComponent(orderId)}`;
  const content = h("div");
  add(el, h("p", {}, h("a", { href: "#/orders" }, "← All orders")),
    h("h1", {}, `Order ${orderId}`), content);
  let lastStatus = null;

  async function load() {
    const order = await api.call("GET", path);
    if (order.order_status === lastStatus) return;
    if (lastStatus) announce(`Order ${orderId} is now ${order.order_status}.`);
    lastStatus = order.order_status;
    fill(content, ...view(order, orderId, path, ctx));
  }
  await load();
  ctx.every(() => load().catch(() => {}), REFRESH_MS);
}

function view(order, orderId, path, ctx) {
  const paid = order.order_status === "paid";
  const terms = order.contract_terms || {};
  const row = (label, value, key) => (value ? [h("dt", {}, label), h("dd", { "data-fact": key }, value)] : null);
  const problem = h("div");
  const remove = paid ? null : h("button", { type: "button", class: "danger", onclick: async () => {
    if (!window.confirm(`Delete the unpaid order ${orderId}? The stock it holds is freed.`)) return;
    try {
      await api.call("DELETE", path);
      announce(`Order ${orderId} deleted.`);
      ctx.go("#/orders");
    } catch (err) {
      problem.replaceChildren(alertBox(err));
    }
  } }, "Delete unpaid order");
  return [
    h("p", { id: "order-status" }, "Payment: ", badge(paid)),
    h("dl", { class: "facts" },
      row("Summary", order.summary ?? terms.summary, "summary"),
      row("Amount", order.total_amount ?? terms.amount ?? order.deposit_total, "amount"),
      row("Created", timestamp(order.creation_time ?? terms.timestamp), "created"),
      row("Pay deadline", timestamp(order.pay_deadline ?? terms.pay_deadline), "pay_deadline"),
      paid ? row("Paid at", timestamp(order.last_payment), "last_payment") : null,
      paid ? row("Deposited", order.deposit_total, "deposit_total") : null,
      row("Pay URI", order.taler_pay_uri, "taler_pay_uri"),
      row("Public page", order.order_status_url
        ? h("a", { href: order.order_status_url, rel: "noreferrer", id: "public-link" },
          "Order status page for the customer") : null, "public")),
    paid ? notice("Paid: its lines count as sold. Refunds are not handled by this back-office.") : null,
    lines(terms.products),
    h("details", { class: "panel" }, h("summary", {}, "Contract terms"), tree(terms)),
    problem,
    remove ? h("div", { class: "actions" }, remove) : null,
  ];
}
