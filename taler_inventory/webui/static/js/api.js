// The only way the pages reach the server: the documented JSON API with a Bearer
// token kept in sessionStorage (gone when the tab closes).

// The pages live at [/instances/$I]/webui/ under whatever prefix a proxy adds.
const WEBUI_PATH = /^(.*?)(?:\/instances\/([^/]+))?\/webui(?:\/.*)?$/;

function pathParts() {
  const m = location.pathname.match(WEBUI_PATH);
  return m ? { root: m[1], instance: m[2] ? decodeURIComponent(m[2]) : "admin" }
           : { root: "", instance: "admin" };
}

/** The instance whose URL served the page (the sign-in form's default). */
export const urlInstance = pathParts().instance;
const root = pathParts().root;

// One session per back-office URL: a tab that goes from /webui/ to
// /instances/shop/webui/ signs in to the shop instead of showing admin's data there.
const SESSION_KEY = `taler-inventory-session:${location.pathname.replace(/\/webui\/.*$/, "/webui/")}`;

export function instancePrefix(id) {
  return id === "admin" ? root : `${root}/instances/${encodeURIComponent(id)}`;
}

export const session = {
  get() {
    try { return JSON.parse(sessionStorage.getItem(SESSION_KEY)); } catch { return null; }
  },
  set(value) { sessionStorage.setItem(SESSION_KEY, JSON.stringify(value)); },
  clear() { sessionStorage.removeItem(SESSION_KEY); },
};

/** A failed request, in words: the server's hint and the field it names. */
export class ApiError extends Error {
  constructor(status, body) {
    super(describe(body, body.parameter ?? (status === 400 ? body.detail : undefined)));
    this.status = status;
    this.code = body.code;
    this.hint = body.hint;
    this.detail = body.detail;
    // 400s name the field in `parameter` (and in `detail`); others name an object.
    this.field = body.parameter ?? (status === 400 ? body.detail : undefined);
    this.body = body;
  }
}

// The hint, and what the detail adds to it; a field is named where it is shown.
function describe(body, field) {
  let text = body.hint || "The request failed.";
  if (body.unit_available_quantity !== undefined) {
    text += ` Available: ${body.unit_available_quantity}, asked for: ${body.unit_requested_quantity}.`;
  } else if (body.detail && body.detail !== field && !text.includes(body.detail)) {
    text += ` (${body.detail})`;
  }
  return text;
}

let expiredHandler = () => {};
/** Called once a request with the stored token answers 401: the token is no good. */
export function onExpired(handler) { expiredHandler = handler; }

function url(path, instance, query) {
  const global = path === "/config" || path.startsWith("/management/");
  let target = (global ? root : instancePrefix(instance)) + path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") params.set(key, value);
  }
  const text = params.toString();
  return text ? `${target}?${text}` : target;
}

/**
 * One API call.  Resolves to the parsed JSON body (null for 204); rejects with
 * an ApiError whose message is fit to show the user.
 */
export async function call(method, path, { body, query, instance, authorization, expire = true } = {}) {
  const current = session.get();
  const headers = { Accept: "application/json" };
  const auth = authorization ?? (current ? `Bearer ${current.token}` : undefined);
  if (auth) headers.Authorization = auth;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url(path, instance ?? current?.instance ?? urlInstance, query), {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store", credentials: "omit",
    });
  } catch {
    throw new ApiError(0, { hint: "The server cannot be reached. Check the connection and try again." });
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!response.ok) {
    const err = new ApiError(response.status, data && typeof data === "object" ? data
      : { hint: `The server answered ${response.status} ${response.statusText}.` });
    if (response.status === 401 && !authorization && current && expire) expiredHandler(err);
    throw err;
  }
  return data;
}

function base64(text) {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

const SESSION_DURATION_US = 8 * 3600 * 1000000;

/** POST .../private/token with the instance password; keeps the token for this tab. */
export async function signIn(instance, password) {
  const answer = await call("POST", "/private/token", {
    instance, authorization: `Basic ${base64(`${instance}:${password}`)}`,
    body: { scope: "all", duration: { d_us: SESSION_DURATION_US }, description: "web back-office" },
  });
  // "token" is the field's name since v19, "access_token" before.
  session.set({ instance, token: answer.token ?? answer.access_token,
    expiration: answer.expiration.t_s });
}

/** DELETE .../private/token: the token stops working at once, here and everywhere. */
export async function signOut() {
  try {
    await call("DELETE", "/private/token", { expire: false });
  } finally {
    session.clear();
  }
}

/** Every page of a keyset-paged listing (limit/offset as the API documents them). */
export async function listAll(path, key, serialOf, query = {}) {
  const rows = [];
  let offset;
  for (;;) {
    const page = (await call("GET", path, { query: { ...query, limit: 1000, offset } }))[key];
    rows.push(...page);
    if (page.length < 1000) return rows;
    offset = serialOf(page[page.length - 1]);
  }
}
