// Categories: list, create, rename, delete.
import * as api from "./api.js";
import { add, alertBox, announce, field, form, h, hashFor, onSubmit } from "./ui.js";

export async function list(page, _parts, _query, ctx) {
  const { categories } = await api.call("GET", "/private/categories");
  const creator = form({ "aria-labelledby": "new-category-title", id: "category-form" },
    field("Name", { name: "name", required: true, autocomplete: "off" }),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Create category")));
  onSubmit(creator, async (data) => {
    const name = data.get("name").trim();
    await api.call("POST", "/private/categories", { body: { name } });
    announce(`Category ${name} created.`);
    ctx.go("#/categories");
  });
  const problem = h("div");
  add(page, h("h1", {}, "Categories"),
    h("p", {}, "Categories group products for point-of-sale apps and the product search."),
    problem,
    h("div", { class: "table-wrap" }, h("table", { id: "categories-table" },
      h("caption", {}, `${categories.length} categor${categories.length === 1 ? "y" : "ies"}`),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"),
        h("th", { scope: "col", class: "num" }, "Products"), h("th", { scope: "col" }, "Actions"))),
      h("tbody", {}, categories.map((c) => categoryRow(c, problem, ctx))))),
    h("section", { class: "panel", "aria-labelledby": "new-category-title" },
      h("h2", { id: "new-category-title" }, "New category"), creator));
}

function categoryRow(c, problem, ctx) {
  const path = `/private/categories/${c.category_id}`;
  const rename = form({ "aria-label": `Rename ${c.name}`, class: "stack", hidden: true },
    field("New name", { name: "name", value: c.name, required: true }),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Save name")));
  onSubmit(rename, async (data) => {
    await api.call("PATCH", path, { body: { name: data.get("name").trim() } });
    announce("Category renamed.");
    ctx.go("#/categories");
  });
  return h("tr", { "data-category": String(c.category_id) },
    h("th", { scope: "row" }, h("a", { href: hashFor(["products"], { category: c.name }) }, c.name), rename),
    h("td", { class: "num" }, String(c.product_count ?? "")),
    h("td", {}, h("div", { class: "actions" },
      h("button", { type: "button", class: "secondary small", "aria-label": `Rename ${c.name}`,
        onclick: () => { rename.hidden = !rename.hidden; if (!rename.hidden) rename.name.focus(); } }, "Rename"),
      h("button", { type: "button", class: "danger small", "aria-label": `Delete ${c.name}`,
        onclick: async () => {
          if (!window.confirm(`Delete the category ${c.name}? Its products stay.`)) return;
          try {
            await api.call("DELETE", path);
            announce(`Category ${c.name} deleted.`);
            ctx.go("#/categories");
          } catch (err) {
            problem.replaceChildren(alertBox(err));
          }
        } }, "Delete"))));
}
