// Small DOM helpers shared by the pages: elements, forms, errors in words, time.

/** h("a", {href: "#/x", class: "button"}, "text", child...) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

/** Append children, skipping null/false (the DOM's own append writes "null"). */
export function add(el, ...children) {
  append(el, children);
  return el;
}

/** Replace the children, skipping null/false. */
export function fill(el, ...children) {
  el.replaceChildren();
  return add(el, ...children);
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

let fieldCounter = 0;

/** A labelled input with an optional help text, wired for screen readers. */
export function field(label, attrs = {}, { help, inline = false, control } = {}) {
  const id = attrs.id || `f${++fieldCounter}`;
  const input = control || h(attrs.tag || "input", { ...attrs, tag: undefined, id });
  input.id = id;
  const parts = [h("label", { for: id }, label)];
  let helpEl = null;
  if (help) {
    helpEl = h("p", { class: "help", id: `${id}-help` }, help);
    input.setAttribute("aria-describedby", helpEl.id);
  }
  const wrap = h("div", { class: inline ? "field inline" : "field" });
  if (inline) wrap.append(input, ...parts);
  else wrap.append(...parts, input);
  if (helpEl) wrap.append(helpEl);
  return wrap;
}

export function select(name, options, value) {
  return h("select", { name }, options.map(([v, text]) =>
    h("option", { value: v, selected: String(v) === String(value) }, text)));
}

/** A form with a place for its overall error, announced when set. */
export function form(attrs, ...children) {
  return h("form", { class: "stack", novalidate: true, ...attrs },
    h("p", { class: "form-alert", role: "alert" }), ...children);
}

export function clearErrors(formEl) {
  formEl.querySelectorAll(".field-error").forEach((el) => el.remove());
  formEl.querySelectorAll("[aria-invalid]").forEach((el) => {
    el.removeAttribute("aria-invalid");
    const ids = (el.getAttribute("aria-describedby") || "").split(" ")
      .filter((id) => id && !id.endsWith("-error"));
    if (ids.length) el.setAttribute("aria-describedby", ids.join(" "));
    else el.removeAttribute("aria-describedby");
  });
  const alert = formEl.querySelector(".form-alert");
  if (alert) alert.textContent = "";
}

// The server names a field by its JSON path; the legacy integer twins and list
// items belong to the same input.
const TWIN = { total_stock: "unit_total_stock", total_lost: "unit_total_lost",
  total_sold: "unit_total_sold", minimum_quantity: "unit_minimum_quantity",
  price: "unit_price", quantity: "unit_quantity" };

function inputFor(formEl, name) {
  if (!name) return null;
  const base = String(name).replace(/\[\d+\]$/, "");
  for (const candidate of [name, base, TWIN[base]]) {
    if (!candidate) continue;
    const input = formEl.querySelector(`[name="${CSS.escape(candidate)}"]`);
    if (input) return input;
  }
  return null;
}

/**
 * Show an API error in a form: next to the field it names (or that `codeFields`
 * maps its code to), else at the top of the form.  Focus goes to the field.
 */
export function showError(formEl, err, codeFields = {}) {
  clearErrors(formEl);
  const name = err.field || codeFields[err.code];
  const input = inputFor(formEl, name);
  const alert = formEl.querySelector(".form-alert");
  if (input) {
    const box = input.closest(".field") || input.closest("fieldset") || input;
    const note = h("p", { class: "field-error", id: `${input.id || input.name}-error` }, err.message);
    box.append(note);
    input.setAttribute("aria-invalid", "true");
    const described = input.getAttribute("aria-describedby");
    input.setAttribute("aria-describedby", described ? `${described} ${note.id}` : note.id);
    alert.textContent = `Not saved: ${err.message}`;
    input.focus();
  } else {
    alert.textContent = name ? `${err.message} (field ${name})` : err.message;
    alert.setAttribute("tabindex", "-1");
    alert.focus();
  }
}

/** Run `action` on submit with the button disabled; errors land in the form. */
export function onSubmit(formEl, action, codeFields) {
  formEl.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(formEl);
    const buttons = formEl.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    try {
      await action(new FormData(formEl));
    } catch (err) {
      if (err.status === 401 && err.code === 2015 && !formEl.isConnected) return;
      showError(formEl, err, codeFields);
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  });
  return formEl;
}

/** An error that has no form to go to, shown in place of (or above) the content. */
export function alertBox(err) {
  return h("p", { class: "alert", role: "alert" }, err.message);
}

export function announce(text) {
  const region = document.getElementById("announce");
  region.textContent = "";
  setTimeout(() => { region.textContent = text; }, 50);
}

export function notice(text) {
  return h("p", { class: "notice", role: "status" }, text);
}

export function timestamp(ts) {
  if (!ts) return "";
  if (ts.t_s === "never") return "never";
  return new Date(ts.t_s * 1000).toLocaleString();
}

/** "1:02:03", "4:05" or "0:09" until an instant (ms since the epoch). */
export function countdown(until) {
  const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
  const hours = Math.floor(left / 3600);
  const minutes = Math.floor((left % 3600) / 60);
  const seconds = String(left % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${seconds}` : `${minutes}:${seconds}`;
}

export function spokenCountdown(until) {
  const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
  const minutes = Math.floor(left / 60);
  return minutes ? `${minutes} min ${left % 60} s` : `${left} s`;
}

export function quantityText(value, unit) {
  if (value === "-1") return "unlimited";
  return unit ? `${value} ${unit}` : value;
}

/** The hash route and its query: "#/products?name=tea" -> ["products", {name: "tea"}]. */
export function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = raw.split("?");
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent),
    query: Object.fromEntries(new URLSearchParams(query)) };
}

export function hashFor(parts, query = {}) {
  const q = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== "" && v != null));
  const text = q.toString();
  return `#/${parts.map(encodeURIComponent).join("/")}${text ? `?${text}` : ""}`;
}
