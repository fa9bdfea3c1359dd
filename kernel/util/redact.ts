/**
 * Secrets never reach a log line, an API answer or an error message: URLs lose their password
 * (redis://:pw@host → redis://:***@host), and secret settings (the API token) print as ***.
 */

/** Settings whose value is a secret or may hold one (a URL with credentials). */
export const SECRET_SETTINGS: ReadonlySet<string> = new Set(['server.token', 'redis.url']);

const URL_CREDENTIALS_RE = /\b([a-z][a-z0-9+.-]*:\/\/)([^/@\s:]*)(?::[^/@\s]*)?@/gi;

/** Replaces the user info of every URL in a text: `redis://user:pw@h` → `redis://user:***@h`. */
export function redactUrls(text: string): string {
  return text.replace(URL_CREDENTIALS_RE, (_m, scheme: string, user: string) => `${scheme}${user}:***@`);
}

/** One URL with its password hidden (for "connected to ..." lines). */
export function redactUrl(url: string): string {
  return redactUrls(url);
}

/** Hides every URL password and every given secret (e.g. the configured token) in a text. */
export function redactText(text: string, secrets: ReadonlyArray<string> = []): string {
  let out = redactUrls(text);
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('***');
  return out;
}

/** A setting's value as a config error may print it: secrets as "***", URLs without passwords. */
export function redactSetting(setting: string, value: unknown): string {
  if (setting === 'server.token') return typeof value === 'string' && value !== '' ? '"***"' : '""';
  const json = JSON.stringify(value) ?? String(value);
  return SECRET_SETTINGS.has(setting) ? redactUrls(json) : json;
}
