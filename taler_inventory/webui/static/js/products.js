// Products: the table (filters, sorting, paging), the product page with its live
// locks, and the create / edit / loss / delete forms.
import * as api from "./api.js";
import * as dec from "./decimal.js";
import { availabilityChart } from "./chart.js";
import { liveLocks } from "./stock.js";
import {
  add, alertBox, announce, field, fill, form, h, hashFor, notice, onSubmit, quantityText, select,
} from "./ui.js";

const PAGE_SIZE = 20;

const COLUMNS = [
  { key: "product_id", label: "ID", compare: textOrder },
  { key: "product_name", label: "Name", compare: textOrder },
  { key: "unit", label: "Unit", compare: textOrder },
  { key: "unit_total_stock", label: "Stock", compare: dec.compareQuantity, num: true },
  { key: "unit_total_locked", label: "Locked", compare: dec.compareQuantity, num: true },
  { key: "unit_total_available", label: "Available", compare: dec.compareQuantity, num: true },
  { key: "unit_total_sold", label: "Sold", compare: dec.compareQuantity, num: true },
  { key: "unit_total_lost", label: "Lost", compare: dec.compareQuantity, num: true },
  { key: "price", label: "Price", compare: dec.compareAmount, num: true },
];

function textOrder(a, b) {
  return String(a).localeCompare(String(b), undefined, { sensitivity: "base", numeric: true });
}

/** The ids the server's product filters keep, or null when no filter is set. */
async function filteredIds(query) {
  if (!query.name && !query.category) return null;
  const rows = await api.listAll("/private/products", "products", (p) => p.product_serial,
    { name_filter: query.name, category_filter: query.category });
  return new Set(rows.map((p) => p.product_id));
}

const REFRESH_MS = 10000;

export async function list(page, _parts, query, ctx) {
  const sortKey = COLUMNS.some((c) => c.key === query.sort) ? query.sort : "product_id";
  const descending = query.dir === "desc";
  const column = COLUMNS.find((c) => c.key === sortKey);
  const to = (changes) => hashFor(["products"], { ...query, ...changes });
  const caption = h("caption");
  const body = h("tbody");
  const pager = h("nav", { class: "pager", "aria-label": "Product pages" });
  const problem = h("div");

  // The counters move with every lock and sale: the rows reload by themselves,
  // leaving the search form and the focus alone.
  async function load() {
    const [pos, ids] = await Promise.all([api.call("GET", "/private/pos"), filteredIds(query)]);
    const rows = pos.products.filter((p) => !ids || ids.has(p.product_id))
      .sort((a, b) => (descending ? -1 : 1) * column.compare(a[sortKey], b[sortKey]));
    const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
    const current = Math.min(pages, Math.max(1, Number.parseInt(query.page, 10) || 1));
    const shown = rows.slice((current - 1) * PAGE_SIZE, current * PAGE_SIZE);
    fill(caption, rows.length === 1 ? "1 product" : `${rows.length} products`,
      ids ? " match the search" : "", pages > 1 ? `, page ${current} of ${pages}` : "");
    fill(body, shown.length ? shown.map(productRow)
      : h("tr", {}, h("td", { colspan: COLUMNS.length }, ids ? "No product matches."
        : "No product yet. Create the first one with “New product”.")));
    fill(pager, pages > 1 ? [
      current > 1 ? h("a", { class: "button secondary", href: to({ page: current - 1 }) }, "Previous page") : null,
      h("span", {}, `Page ${current} of ${pages}`),
      current < pages ? h("a", { class: "button secondary", href: to({ page: current + 1 }) }, "Next page") : null,
    ] : null);
    return pos.categories;
  }

  const categoryList = await load();
  add(page,
    h("h1", {}, "Products"),
    h("div", { class: "actions" }, h("a", { class: "button", href: "#/new-product" }, "New product")),
    filters(categoryList, query),
    problem,
    h("div", { class: "table-wrap" }, h("table", { id: "products-table" }, caption,
      h("thead", {}, h("tr", {}, COLUMNS.map((c) => header(c, sortKey, descending, to)))), body)),
    pager);
  ctx.every(() => load().then(() => problem.replaceChildren(),
    (err) => problem.replaceChildren(alertBox(err))), REFRESH_MS);
}

function header(column, sortKey, descending, to) {
  const active = column.key === sortKey;
  const dir = active && !descending ? "desc" : "asc";
  return h("th", { scope: "col", class: column.num ? "num" : null,
    "aria-sort": active ? (descending ? "descending" : "ascending") : null },
  h("button", { type: "button", class: "sort", "aria-pressed": String(active),
    "data-arrow": descending ? "▼" : "▲", "data-sort": column.key,
    "aria-label": `Sort by ${column.label}${active ? (descending ? ", now descending" : ", now ascending") : ""}`,
    onclick: () => { location.hash = to({ sort: column.key, dir, page: 1 }); } }, column.label));
}

function productRow(p) {
  const cell = (key) => h("td", { class: "num" }, key === "unit_total_stock" ? quantityText(p[key]) : p[key]);
  return h("tr", { "data-product": p.product_id },
    h("th", { scope: "row" }, h("a", { href: hashFor(["product", p.product_id]) }, p.product_id)),
    h("td", {}, p.product_name), h("td", {}, p.unit),
    cell("unit_total_stock"), cell("unit_total_locked"), cell("unit_total_available"),
    cell("unit_total_sold"), cell("unit_total_lost"),
    h("td", { class: "num" }, p.unit_price?.[0] ?? p.price));
}

function filters(categoryList, query) {
  // Taler's category_filter matches a part of a category's name, so the search
  // takes text (with the instance's category names to pick from).
  const names = h("datalist", { id: "category-names" },
    categoryList.map((c) => h("option", { value: c.name })));
  const search = h("form", { class: "filters", role: "search", "aria-label": "Search products" },
    field("Name contains", { name: "name", type: "search", value: query.name || "" }),
    field("Category contains", { name: "category", type: "search", value: query.category || "",
      list: "category-names", autocomplete: "off" }),
    names,
    h("button", { type: "submit" }, "Search"),
    query.name || query.category ? h("a", { class: "button secondary", href: "#/products" }, "Clear") : null);
  search.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(search);
    location.hash = hashFor(["products"], { ...query, name: data.get("name").trim(),
      category: data.get("category").trim(), page: 1 });
  });
  return search;
}

// -- create and edit ---------------------------------------------------------

const PRODUCT_CODES = { 2650: "product_id", 2003: "categories", 2661: "unit_total_stock",
  2662: "unit_total_stock", 2660: "unit_total_lost", 2663: "unit_total_sold" };

function precisionHelp(allow, level) {
  return allow ? `Exact decimals: up to ${level} digit${level === 1 ? "" : "s"} after the point, e.g. 2.5.`
    : "Whole numbers only (this unit does not allow fractions).";
}

/** The fields of a product form; `p` fills them for editing. */
/** The instance's active units (none from a server without the units API). */
async function activeUnits() {
  try {
    return (await api.call("GET", "/private/units")).units.filter((u) => u.unit_active);
  } catch (err) {
    if (err.status === 404 && err.code === 21) return [];
    throw err;
  }
}

function productFields(p, currency, categoryList, { withId, units = [] }) {
  const allow = p ? p.unit_allow_fraction : false;
  const level = p ? p.unit_precision_level : 0;
  const unlimited = p?.unit_total_stock === "-1";
  const price = dec.splitAmount(p?.unit_price?.[0] ?? p?.price ?? "");
  const stockInput = h("input", { name: "unit_total_stock", inputmode: "decimal", required: true,
    value: unlimited ? "" : (p?.unit_total_stock ?? ""), disabled: unlimited, autocomplete: "off" });
  const quantityHelp = h("span", {}, precisionHelp(allow, level));
  const fractions = h("input", { type: "checkbox", name: "unit_allow_fraction", checked: allow });
  const precision = select("unit_precision_level",
    [0, 1, 2, 3, 4, 5, 6].map((n) => [n, String(n)]), allow ? level : 6);
  precision.disabled = !allow;
  const unlimitedBox = h("input", { type: "checkbox", name: "unlimited", checked: unlimited });
  const sync = () => {
    precision.disabled = !fractions.checked;
    quantityHelp.textContent = precisionHelp(fractions.checked, fractions.checked ? precision.value : 0);
    stockInput.disabled = unlimitedBox.checked;
  };
  // A new product of a known unit counts as the unit does, unless changed here.
  function pickUnit(event) {
    const unit = units.find((u) => u.unit === event.target.value.trim());
    if (!unit) return;
    fractions.checked = unit.unit_allow_fraction;
    precision.value = String(unit.unit_allow_fraction ? unit.unit_precision_level : 6);
    sync();
  }
  fractions.addEventListener("change", sync);
  precision.addEventListener("change", sync);
  unlimitedBox.addEventListener("change", sync);
  return [
    withId ? field("Product ID", { name: "product_id", required: true, autocomplete: "off" },
      { help: "1 to 128 characters, no “/”. It cannot be changed later." }) : null,
    field("Name", { name: "product_name", value: p?.product_name ?? "" }),
    field("Description", { name: "description", tag: "textarea", required: true },
      { control: h("textarea", { name: "description", required: true }, p?.description ?? "") }),
    field("Unit", { name: "unit", required: true, value: p?.unit ?? "", autocomplete: "off",
      list: units.length ? "unit-names" : null, onchange: withId ? pickUnit : null },
    { help: units.length ? "One of the instance's units (it sets the fractions below) or your own word."
      : "What one is counted in: piece, kg, litre…" }),
    units.length ? h("datalist", { id: "unit-names" }, units.map((u) =>
      h("option", { value: u.unit, label: u.unit_name_long }))) : null,
    h("fieldset", {}, h("legend", {}, "Quantities"),
      field("Allow fractions of the unit", {}, { inline: true, control: fractions }),
      field("Digits after the decimal point", {}, { control: precision }),
      h("p", { class: "help", "aria-live": "polite" }, quantityHelp)),
    field(`Price${currency ? ` in ${currency}` : ""}`, { name: "unit_price", inputmode: "decimal",
      required: true, value: price[1] === "0" && !p ? "" : price[1], "data-currency": price[0] || currency,
      autocomplete: "off" }, { help: "Per unit, e.g. 2.50." }),
    h("fieldset", {}, h("legend", {}, "Stock"),
      field("Total stock", {}, { control: stockInput,
        help: "Everything ever stocked (sold and lost included); it can only grow." }),
      field("Unlimited stock", {}, { inline: true, control: unlimitedBox })),
    field("Minimum quantity per lock or order line", { name: "unit_minimum_quantity",
      inputmode: "decimal", value: p?.unit_minimum_quantity ?? "0", autocomplete: "off" }),
    categoryList.length ? h("fieldset", {}, h("legend", {}, "Categories"),
      categoryList.map((c) => field(c.name, { type: "checkbox", name: "categories",
        value: String(c.category_id), checked: p?.categories?.includes(c.category_id) },
      { inline: true }))) : null,
  ];
}

/** The request body from a product form: quantities stay strings, exactly as typed. */
function productBody(data, currency) {
  const allow = data.get("unit_allow_fraction") === "on";
  const body = {
    product_name: data.get("product_name").trim() || undefined,
    description: data.get("description"),
    unit: data.get("unit").trim(),
    unit_allow_fraction: allow,
    unit_precision_level: allow ? Number(data.get("unit_precision_level")) : 0,
    unit_total_stock: data.get("unlimited") === "on" ? "-1" : String(data.get("unit_total_stock") ?? "").trim(),
    unit_minimum_quantity: String(data.get("unit_minimum_quantity")).trim() || "0",
    categories: data.getAll("categories").map(Number),
  };
  const price = String(data.get("unit_price")).trim();
  body.unit_price = [price.includes(":") ? price : `${currency}:${price}`];
  return body;
}

export async function create(page, _parts, _query, ctx) {
  const [{ categories }, units] = await Promise.all([api.call("GET", "/private/categories"),
    activeUnits()]);
  const currency = ctx.config.currency;
  const editor = form({ "aria-labelledby": "new-title", id: "product-form" },
    productFields(null, currency, categories, { withId: true, units }),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Create product"),
      h("a", { class: "button secondary", href: "#/products" }, "Cancel")));
  onSubmit(editor, async (data) => {
    const productId = data.get("product_id").trim();
    await api.call("POST", "/private/products",
      { body: { product_id: productId, ...productBody(data, currency) } });
    announce(`Product ${productId} created.`);
    ctx.go(hashFor(["product", productId], { created: 1 }));
  }, PRODUCT_CODES);
  add(page, h("h1", { id: "new-title" }, "New product"), editor);
  editor.querySelector("input").focus();
}

// -- the product page ---------------------------------------------------------

function facts(p, categoryNames) {
  const row = (label, value, key) => [h("dt", {}, label), h("dd", { "data-fact": key }, value)];
  return h("dl", { class: "facts", id: "product-facts" },
    p.image ? row("Image", h("img", { src: p.image, alt: `Picture of ${p.product_name}`,
      class: "product-image" }), "image") : null,
    row("Name", p.product_name, "name"), row("Description", p.description, "description"),
    row("Price", (p.unit_price || [p.price]).join(", "), "price"),
    row("Stock", quantityText(p.unit_total_stock, p.unit), "stock"),
    row("Locked now", quantityText(p.unit_total_locked, p.unit), "locked"),
    row("Available now", quantityText(p.unit_total_available, p.unit), "available"),
    row("Sold", quantityText(p.unit_total_sold, p.unit), "sold"),
    row("Lost", quantityText(p.unit_total_lost, p.unit), "lost"),
    row("Quantities", p.unit_allow_fraction ? `fractions, up to ${p.unit_precision_level} digits`
      : "whole units", "fractions"),
    p.unit_minimum_quantity !== "0" ? row("Minimum per lock", quantityText(p.unit_minimum_quantity, p.unit), "minimum") : null,
    row("Categories", p.categories.map((id) => categoryNames.get(id) ?? `#${id}`).join(", ") || "none", "categories"));
}

export async function page(el, parts, query, ctx) {
  const productId = parts[0];
  const path = `/private/products/${encodeURIComponent(productId)}`;
  const [product, { categories }] = await Promise.all([api.call("GET", path),
    api.call("GET", "/private/categories")]);
  const names = new Map(categories.map((c) => [c.category_id, c.name]));
  const currency = ctx.config.currency;
  let factsEl = facts(product, names);
  const chartEl = h("div");
  const refreshFacts = async (locks) => {
    const fresh = await api.call("GET", path);
    const next = facts(fresh, names);
    factsEl.replaceWith(next);
    factsEl = next;
    fill(chartEl, availabilityChart(fresh, locks));
  };

  const locksEl = h("div");
  const editor = form({ "aria-labelledby": "edit-title", id: "product-form" },
    productFields(product, currency, categories, { withId: false }),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Save changes")));
  onSubmit(editor, async (data) => {
    const body = productBody(data, currency);
    // The legacy price alone keeps the prices in other currencies.
    body.price = body.unit_price[0];
    delete body.unit_price;
    await api.call("PATCH", path, { body });
    announce("Changes saved.");
    ctx.go(hashFor(["product", productId], { saved: 1 }));
  }, PRODUCT_CODES);

  const loss = form({ "aria-labelledby": "loss-title", id: "loss-form" },
    field(`Quantity lost (${product.unit})`, { name: "unit_total_lost", inputmode: "decimal",
      required: true, autocomplete: "off" },
    { help: "Broken, spoilt or missing; it is added to the total lost and leaves the available stock." }),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Record loss")));
  onSubmit(loss, async (data) => {
    const lost = String(data.get("unit_total_lost")).trim();
    if (dec.parse(lost) === null || dec.parse(lost) <= 0n) {
      throw new api.ApiError(400, { hint: "Enter a positive number, like 1 or 0.25.",
        parameter: "unit_total_lost" });
    }
    const fresh = await api.call("GET", path);
    await api.call("PATCH", path, { body: { unit_total_lost: dec.add(fresh.unit_total_lost, lost) } });
    announce(`Loss of ${lost} ${product.unit} recorded.`);
    ctx.go(hashFor(["product", productId], { lost: 1 }));
  }, { 2661: "unit_total_lost", 2660: "unit_total_lost" });

  const remover = deleteForm(path, productId, ctx);
  const message = query.created ? "Product created." : query.saved ? "Changes saved."
    : query.lost ? "Loss recorded." : "";
  add(el,
    h("p", {}, h("a", { href: "#/products" }, "← All products")),
    h("h1", {}, `Product ${productId}`),
    message ? notice(message) : null,
    factsEl,
    h("section", { class: "panel", "aria-labelledby": "live-title" },
      h("h2", { id: "live-title" }, "Live stock"), locksEl, chartEl),
    h("section", { class: "panel", "aria-labelledby": "loss-title" },
      h("h2", { id: "loss-title" }, "Record a loss"), loss),
    h("section", { class: "panel", "aria-labelledby": "edit-title" },
      h("h2", { id: "edit-title" }, "Edit"), editor),
    h("section", { class: "panel", "aria-labelledby": "delete-title" },
      h("h2", { id: "delete-title" }, "Delete"), remover));
  await liveLocks(locksEl, { product_id: productId }, { unit: product.unit, onChange: refreshFacts }, ctx);
}

function deleteForm(path, productId, ctx) {
  let force = false;
  const button = h("button", { type: "submit", class: "danger" }, "Delete product");
  const remover = form({ "aria-labelledby": "delete-title", id: "delete-form" },
    h("p", { class: "help" }, "The product and its counters are removed. Orders keep their lines."),
    h("div", { class: "actions" }, button));
  onSubmit(remover, async () => {
    if (!window.confirm(`Delete product ${productId}?`)) return;
    try {
      await api.call("DELETE", path, { query: force ? { force: "yes" } : {} });
    } catch (err) {
      if (err.code === 2680) {
        force = true;
        button.textContent = "Delete anyway and release its holds";
      }
      throw err;
    }
    announce(`Product ${productId} deleted.`);
    ctx.go("#/products");
  });
  return remover;
}

