// The REST client: one fetch wrapper that adds the API key and turns error bodies into ApiError.
const KEY = "memosys.apiKey";

/**
 * An error answered by the server: `name` is the memosys error class (e.g. NotFoundError) and
 * `message` says how to fix it; an answer without that body (a proxy's, a crash's) says so.
 */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || (typeof body?.detail === "string" ? body.detail
      : `The server answered HTTP ${status} with no explanation; see its log.`));
    this.status = status;
    this.name = body?.error || (status >= 500 ? "ServerError" : "HTTPError");
    this.detail = body?.detail ?? {};
  }
}

/** The server could not be reached at all (fetch failed: the server is down, or the network). */
export class NetworkError extends Error {
  constructor() {
    super("Cannot reach the server; check that `memosys serve` is running and the network is up.");
    this.name = "NetworkError";
  }
}

/** The API key of this browser tab (sessionStorage: gone when the tab closes). */
export const credentials = {
  get key() {
    return sessionStorage.getItem(KEY);
  },
  signIn(key) {
    sessionStorage.setItem(KEY, key);
  },
  signOut() {
    sessionStorage.removeItem(KEY);
  },
};

/** Query-string value: objects as JSON, empty values left out. */
function queryString(query = {}) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    params.set(name, typeof value === "object" ? JSON.stringify(value) : String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

/**
 * Call the API: `api("/v1/memories", {query: {limit: 20}})` or
 * `api("/v1/search", {method: "POST", body: {...}})`. A 401 signs the tab out.
 */
export async function api(path, { method = "GET", query, body, key = credentials.key } = {}) {
  const headers = { Accept: "application/json" };
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path + queryString(query), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  }).catch(() => {
    throw new NetworkError();
  });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    if (response.status === 401 && key === credentials.key) {
      window.dispatchEvent(new CustomEvent("memosys:signed-out", { detail: error.message }));
    }
    throw error;
  }
  return data;
}

/** A path segment, escaped. */
export const seg = (value) => encodeURIComponent(value);
