/** The dashboard talks only to the lab's public HTTP API (the same one documented at /docs). */

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

const TOKEN_KEY = 'lklab-token';
let unauthorized = () => undefined;

/** The control token (server.token / LKLAB_TOKEN), kept for this browser tab only. */
export function setToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** Called when a control route answers 401 (the lab has a token and this tab has none, or a wrong one). */
export function onUnauthorized(fn) {
  unauthorized = fn;
}

/** fetch + JSON; a non-2xx answer throws an ApiError carrying the lab's error code and message. */
export async function api(path, { method = 'GET', body } = {}) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(method !== 'GET' && sessionStorage.getItem(TOKEN_KEY)
          ? { authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY)}` }
          : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, 'NETWORK', `The lab does not answer (${err.message}). Is it running?`);
  }
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const e = json?.error;
    if (res.status === 401) unauthorized();
    throw new ApiError(
      res.status,
      e?.code ?? `HTTP_${res.status}`,
      e?.message ?? `${method} ${path}: HTTP ${res.status}`,
      e?.details,
    );
  }
  return json;
}
