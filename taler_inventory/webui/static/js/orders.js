// Orders: the list (newest first, by payment state) and an order's page.
import * as api from "./api.js";
import * as decimal from "./decimal.js";
import {
  add, alertBox, announce, field, fill, form, h, hashFor, notice, onSubmit, select, timestamp,
} from "./ui.js";

const PAGE_SIZE = 20;
const REFRESH_MS = 5000;
// The status filter and the query of GET .../private/orders it stands for
// (Taler's "paid" and "refunded" parameters).
const STATUS = [["", "All orders"], ["unpaid", "Unpaid"], ["paid", "Paid"],
  ["refunded", "Refunded"]];
const STATUS_QUERY = { unpaid: { paid: "no" }, paid: { paid: "yes" }, refunded: { refunded: "yes" } };

function refunded(amount) {
  const value = decimal.parse(decimal.splitAmount(amount)[1]);
  return value !== null && value > 0n;
}

function badge(paid, refundAmount) {
  if (paid && refunded(refundAmount)) return h("span", { class: "badge refunded" }, "Refunded");
  return h("span", { class: `badge ${paid ? "paid" : "unpaid"}` }, paid ? "Paid" : "Unpaid");
}

export async function list(page, _parts, query, ctx) {
  const status = STATUS_QUERY[query.status] ? query.status : "";
  const offset = query.before || undefined;
  const filter = h("form", { class: "filters", "aria-label": "Filter orders" },
    field("Show", {}, { control: select("status", STATUS, status) }));
  filter.status.addEventListener("change", () => {
    location.hash = hashFor(["orders"], { status: filter.status.value });
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
        { query: { limit: -PAGE_SIZE, offset, ...STATUS_QUERY[status] } });
      body.replaceChildren(...(orders.length ? orders.map((o) => h("tr", { "data-order": o.order_id },
        h("th", { scope: "row" }, h("a", { href: hashFor(["order", o.order_id]) }, o.order_id)),
        h("td", {}, timestamp(o.timestamp)), h("td", {}, o.summary),
        h("td", { class: "num" }, o.amount), h("td", {}, badge(o.paid, o.refund_amount),
          refunded(o.refund_amount) ? ` ${o.refund_amount}` : null)))
        : [h("tr", {}, h("td", { colspan: 5 }, "No order."))]));
      fill(pager,
        offset ? h("a", { class: "button secondary", href: hashFor(["orders"], { status }) }, "Newest orders") : null,
        orders.length === PAGE_SIZE ? h("a", { class: "button secondary",
          href: hashFor(["orders"], { status, before: orders[orders.length - 1].row_id }) }, "Older orders") : null);
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
  let lastState = null;

  // Drawn anew only when its state changes, so a refresh never wipes a form.
  async function load(message) {
    const order = await api.call("GET", path);
    const state = `${order.order_status} ${order.refund_amount || ""}`;
    if (state === lastState && !message) return;
    if (lastState && !message) announce(`Order ${orderId} is now ${describe(order)}.`);
    lastState = state;
    fill(content, ...view(order, orderId, path, ctx, load, message));
  }
  await load();
  ctx.every(() => load().catch(() => {}), REFRESH_MS);
}

function describe(order) {
  if (order.order_status === "paid" && order.refunded) return `refunded (${order.refund_amount})`;
  return order.order_status;
}

function view(order, orderId, path, ctx, reload, message) {
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
    message ? notice(message) : null,
    h("p", { id: "order-status" }, "Payment: ", badge(paid),
      paid && order.refunded ? [" ", badge(paid, order.refund_amount)] : null),
    h("dl", { class: "facts" },
      row("Summary", order.summary ?? terms.summary, "summary"),
      row("Amount", order.total_amount ?? terms.amount ?? order.deposit_total, "amount"),
      row("Created", timestamp(order.creation_time ?? terms.timestamp), "created"),
      row("Pay deadline", timestamp(order.pay_deadline ?? terms.pay_deadline), "pay_deadline"),
      row("Refund deadline", timestamp(terms.refund_deadline), "refund_deadline"),
      paid ? row("Paid at", timestamp(order.last_payment), "last_payment") : null,
      paid ? row("Deposited", order.deposit_total, "deposit_total") : null,
      paid ? row("Refunded", order.refund_amount, "refund_amount") : null,
      row("Pay URI", order.taler_pay_uri, "taler_pay_uri"),
      row("Public page", order.order_status_url
        ? h("a", { href: order.order_status_url, rel: "noreferrer", id: "public-link" },
          "Order status page for the customer") : null, "public")),
    paid ? notice("Paid: its lines count as sold (a refund gives no stock back).") : null,
    lines(terms.products),
    paid ? refundPanel(order, orderId, path, terms, reload) : null,
    h("details", { class: "panel" }, h("summary", {}, "Contract terms"), tree(terms)),
    problem,
    remove ? h("div", { class: "actions" }, remove) : null,
  ];
}

// Errors of a refund that name no field but are about the amount asked for.
const REFUND_FIELDS = { 2024: "refund", 2530: "refund", 2532: "refund", 10350: "refund" };

/** A paid order's refunds so far, and the form that raises its refunded total. */
function refundPanel(order, orderId, path, terms, reload) {
  const amount = order.total_amount ?? terms.amount ?? order.deposit_total;
  const [currency, total] = decimal.splitAmount(amount);
  const deadline = terms.refund_deadline;
  const open = deadline && deadline.t_s !== "never" ? deadline.t_s * 1000 > Date.now() : Boolean(deadline);
  const help = [`The order's refunded total after this refund, in ${currency}: more than `
    + `${decimal.splitAmount(order.refund_amount)[1]} (refunded so far), at most ${total}.`,
  deadline ? (open ? ` Possible until ${timestamp(deadline)}.`
    : ` The refund deadline was ${timestamp(deadline)}.`) : ""].join("");
  const refundForm = onSubmit(form({ id: "refund-form", "aria-label": "Refund" },
    field(`New refunded total in ${currency}`, { name: "refund", inputmode: "decimal",
      autocomplete: "off", required: true }, { help }),
    field("Reason", { name: "reason", required: true, maxlength: 4096 },
      { help: "Shown to the customer's wallet." }),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Refund"))),
  async (data) => {
    const value = String(data.get("refund")).trim();
    const answer = await api.call("POST", `${path}/refund`, { body: {
      refund: value.includes(":") ? value : `${currency}:${value}`,
      reason: String(data.get("reason")) } });
    await reload(`Refund recorded. The customer's wallet takes it from ${answer.taler_refund_uri}`);
  }, REFUND_FIELDS);
  const details = order.refund_details || [];
  return h("section", { class: "panel", "aria-labelledby": "refund-title" },
    h("h2", { id: "refund-title" }, "Refunds"),
    details.length ? h("div", { class: "table-wrap" }, h("table", { id: "refunds-table" },
      h("caption", {}, `Refunded in all: ${order.refund_amount}`),
      h("thead", {}, h("tr", {}, ["Time", "Amount", "Reason"].map((t) =>
        h("th", { scope: "col", class: t === "Amount" ? "num" : null }, t)))),
      h("tbody", {}, details.map((r) => h("tr", {},
        h("td", {}, timestamp(r.timestamp)), h("td", { class: "num" }, r.amount),
        h("td", {}, r.reason))))))
      : h("p", { class: "muted" }, "No refund yet."),
    refundForm);
}
