// The shell: sign-in, the navigation, and a hash router that gives each page a
// fresh <main> and stops its timers when the user leaves it.
import * as api from "./api.js";
import { announce, field, form, h, onSubmit, parseHash } from "./ui.js";
import * as products from "./products.js";
import * as stock from "./stock.js";
import * as orders from "./orders.js";
import * as categories from "./categories.js";
import * as instances from "./instances.js";

const ROUTES = {
  products: products.list,
  "new-product": products.create,
  product: products.page,
  locks: stock.overview,
  cart: stock.cart,
  orders: orders.list,
  order: orders.page,
  categories: categories.list,
  instances: instances.list,
  instance: instances.page,
};

const main = document.getElementById("main");
let timers = [];
let expiryTimer = null;
let config = null;

/** What every page gets: the server's /config and timers that die with the page. */
function context() {
  return {
    config,
    session: api.session.get(),
    every(fn, ms) { timers.push(setInterval(fn, ms)); },
    go(hash) { if (location.hash === hash) render(); else location.hash = hash; },
  };
}

function stopTimers() {
  timers.forEach(clearInterval);
  timers = [];
}

async function render({ focus = true } = {}) {
  stopTimers();
  const current = api.session.get();
  showChrome(current);
  if (!current) return signInPage();
  const { parts, query } = parseHash();
  const view = ROUTES[parts[0] || "products"] || products.list;
  markCurrent(parts[0] || "products");
  const page = h("div", { class: "page" });
  main.replaceChildren(page);
  if (focus) main.focus();
  try {
    await view(page, parts.slice(1), query, context());
  } catch (err) {
    if (!api.session.get()) return undefined; // the session ended meanwhile
    page.replaceChildren(h("h1", {}, "This page cannot be shown"),
      h("p", { class: "alert", role: "alert" }, err.message));
  }
  return undefined;
}

function markCurrent(route) {
  const section = { "new-product": "products", product: "products", cart: "locks",
    order: "orders", instance: "instances" }[route] || route;
  document.querySelectorAll("#nav a").forEach((a) => {
    if (a.getAttribute("href") === `#/${section}`) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
  const title = document.querySelector("#nav a[aria-current]")?.textContent;
  document.title = title ? `${title} – Inventory back-office` : "Inventory back-office";
}

function showChrome(current) {
  document.getElementById("nav").hidden = !current;
  document.getElementById("who").hidden = !current;
  document.getElementById("nav-instances").hidden = current?.instance !== "admin";
  if (current) document.getElementById("who-name").textContent = `Instance ${current.instance}`;
  clearTimeout(expiryTimer);
  if (current && current.expiration !== "never") {
    // setTimeout's limit is about 24.8 days; a session is far shorter.
    const left = Math.min(current.expiration * 1000 - Date.now(), 2 ** 31 - 1);
    expiryTimer = setTimeout(() => endSession("Your session has expired. Please sign in again."),
      Math.max(0, left));
  }
}

let pendingMessage = "";

function endSession(message) {
  api.session.clear();
  pendingMessage = message;
  render();
}

api.onExpired(() => endSession(
  "Your session has ended: the access token expired or was revoked. Please sign in again."));

function signInPage() {
  stopTimers();
  document.title = "Sign in – Inventory back-office";
  const message = pendingMessage;
  pendingMessage = "";
  const signIn = form({ "aria-labelledby": "signin-title" },
    field("Instance", { name: "instance", value: api.urlInstance, autocomplete: "username",
      required: true, autocapitalize: "none", spellcheck: "false" },
    { help: "The id of your shop; the administrator's is admin." }),
    field("Password", { name: "password", type: "password", autocomplete: "current-password",
      required: true }),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Sign in")));
  onSubmit(signIn, async (data) => {
    const instance = String(data.get("instance")).trim();
    await api.signIn(instance, String(data.get("password")));
    announce(`Signed in to ${instance}.`);
    render();
  }, { 2015: "password", 2000: "instance" });
  main.replaceChildren(h("div", { class: "signin" },
    h("h1", { id: "signin-title" }, "Sign in"),
    message ? h("p", { class: "notice", role: "status", id: "signin-message" }, message) : null,
    signIn));
  const first = signIn.querySelector(message || !signIn.instance.value ? "input" : "[name=password]");
  first.focus();
}

document.getElementById("sign-out").addEventListener("click", async () => {
  try {
    await api.signOut();
  } catch {
    // The token is gone from this tab either way.
  }
  endSession("You are signed out.");
});

window.addEventListener("hashchange", () => render());

async function start() {
  try {
    config = await api.call("GET", "/config", { expire: false });
  } catch {
    config = { currency: "" };
  }
  const current = api.session.get();
  if (current && current.expiration !== "never" && current.expiration * 1000 <= Date.now()) {
    api.session.clear();
    pendingMessage = "Your session has expired. Please sign in again.";
  }
  render({ focus: false });
}

start();
