// Instances, for the administrator: list, create, edit, password, delete
// (the /management API, which only an admin token may use).
import * as api from "./api.js";
import { add, alertBox, announce, field, form, h, hashFor, notice, onSubmit } from "./ui.js";

function adminOnly(page, ctx) {
  if (ctx.session.instance === "admin") return false;
  add(page, h("h1", {}, "Instances"),
    h("p", { class: "alert", role: "alert" }, "Only the admin instance manages instances. Sign in as admin."));
  return true;
}

export async function list(page, _parts, query, ctx) {
  if (adminOnly(page, ctx)) return;
  const { instances } = await api.call("GET", "/management/instances");
  const creator = form({ "aria-labelledby": "new-instance-title", id: "instance-form" },
    field("Instance ID", { name: "id", required: true, autocomplete: "off", autocapitalize: "none" },
      { help: "Letters, digits and . _ @ -; at least two characters. It is part of the shop's URLs." }),
    field("Name", { name: "name", required: true }),
    field("Password", { name: "auth.password", type: "password", required: true,
      autocomplete: "new-password" }, { help: "What the shop signs in with." }),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Create instance")));
  onSubmit(creator, async (data) => {
    const id = data.get("id").trim();
    await api.call("POST", "/management/instances", { body: { id, name: data.get("name").trim(),
      auth: { method: "token", password: data.get("auth.password") } } });
    announce(`Instance ${id} created.`);
    ctx.go(hashFor(["instances"], { created: id }));
  }, { 2600: "id", 2603: "id" });
  add(page, h("h1", {}, "Instances"),
    query.created ? notice(`Instance ${query.created} created. It signs in with its id and password.`) : null,
    h("div", { class: "table-wrap" }, h("table", { id: "instances-table" },
      h("caption", {}, `${instances.length} instance${instances.length === 1 ? "" : "s"}`),
      h("thead", {}, h("tr", {}, ["ID", "Name", "State"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, instances.map((i) => h("tr", { "data-instance": i.id },
        h("th", { scope: "row" }, i.deleted ? i.id : h("a", { href: hashFor(["instance", i.id]) }, i.id)),
        h("td", {}, i.name),
        h("td", {}, i.deleted ? h("span", { class: "badge deleted" }, "Disabled") : "Active")))))),
    h("section", { class: "panel", "aria-labelledby": "new-instance-title" },
      h("h2", { id: "new-instance-title" }, "New instance"), creator));
}

const EDITABLE = [["name", "Name"], ["email", "Email"], ["phone_number", "Phone"], ["website", "Website"]];

export async function page(el, parts, query, ctx) {
  if (adminOnly(el, ctx)) return;
  const id = parts[0];
  const path = `/management/instances/${encodeURIComponent(id)}`;
  const instance = await api.call("GET", path);
  const editor = form({ "aria-labelledby": "edit-instance-title", id: "instance-edit-form" },
    EDITABLE.map(([key, label]) => field(label, { name: key, value: instance[key] ?? "",
      type: key === "email" ? "email" : key === "website" ? "url" : "text" })),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Save changes")));
  onSubmit(editor, async (data) => {
    const body = {};
    for (const [key] of EDITABLE) {
      const value = data.get(key).trim();
      if (value || instance[key] !== undefined) body[key] = value;
    }
    await api.call("PATCH", path, { body });
    announce("Changes saved.");
    ctx.go(hashFor(["instance", id], { saved: 1 }));
  });
  const password = form({ "aria-labelledby": "password-title", id: "password-form" },
    field("New password", { name: "password", type: "password", required: true,
      autocomplete: "new-password" }, { help: "Every token of the instance stops working at once." }),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Set password")));
  onSubmit(password, async (data) => {
    await api.call("POST", `${path}/auth`, { body: { method: "token", password: data.get("password") } });
    announce("Password set.");
    ctx.go(hashFor(["instance", id], { password: 1 }));
  });
  const problem = h("div");
  const removeButton = (label, purge) => h("button", { type: "button", class: "danger", onclick: async () => {
    const question = purge ? `Delete ${id} and all its data for good?`
      : `Disable ${id}? Its tokens stop working; its data is kept.`;
    if (!window.confirm(question)) return;
    try {
      await api.call("DELETE", path, { query: purge ? { purge: "YES" } : {} });
      announce(`Instance ${id} ${purge ? "deleted" : "disabled"}.`);
      ctx.go("#/instances");
    } catch (err) {
      problem.replaceChildren(alertBox(err));
    }
  } }, label);
  const message = query.saved ? "Changes saved." : query.password ? "Password set." : "";
  add(el, h("p", {}, h("a", { href: "#/instances" }, "← All instances")),
    h("h1", {}, `Instance ${id}`), message ? notice(message) : null,
    h("p", {}, h("a", { href: `${api.instancePrefix(id)}/webui/`, id: "instance-webui" },
      `Back-office of ${id}`), " (signs in with its own password)"),
    h("section", { class: "panel", "aria-labelledby": "edit-instance-title" },
      h("h2", { id: "edit-instance-title" }, "Settings"), editor),
    h("section", { class: "panel", "aria-labelledby": "password-title" },
      h("h2", { id: "password-title" }, "Password"), password),
    id === "admin" ? null : h("section", { class: "panel", "aria-labelledby": "delete-instance-title" },
      h("h2", { id: "delete-instance-title" }, "Delete"), problem,
      h("div", { class: "actions" }, removeButton("Disable instance", false),
        removeButton("Delete with all data", true))));
}
