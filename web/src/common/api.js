// The JSON API: the session token from localStorage, problem+json errors as ApiError with the
// stable `code` (shown to people through i18n, never raw).
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem?.code || "network";
    this.field = problem?.field;
  }
}

export function token() {
  return localStorage.getItem("jishi.token");
}

export function setToken(t) {
  if (t) localStorage.setItem("jishi.token", t);
  else localStorage.removeItem("jishi.token");
}

// options.cache: a fetch cache mode, e.g. "no-cache" where an editor must see its own change
// at once through a response the server marks cacheable (GET /api/v1/categories, 60 s).
export async function api(method, path, body, options = {}) {
  const headers = { Accept: "application/json" };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let r;
  try {
    r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: options.cache });
  } catch {
    throw new ApiError(0, { code: "network" });
  }
  const text = await r.text();
  const data = text ? JSON.parse(text) : null;
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}
