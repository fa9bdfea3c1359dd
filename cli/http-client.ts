import { LabError } from '../kernel/errors/lab-error.js';

export const DEFAULT_URL = 'http://127.0.0.1:3000';

/** Calls the running lab's API; errors name the URL and how to start the lab. */
export async function callLab<T>(baseUrl: string, path: string, init: RequestInit = {}): Promise<T> {
  const url = new URL(path, baseUrl).toString();
  let res: Response;
  // Control routes need the lab's token when it has one (docs/security.md); the CLI reads LKLAB_TOKEN.
  const token = process.env.LKLAB_TOKEN;
  const headers = new Headers(init.headers);
  if (token && !headers.has('authorization')) headers.set('authorization', `Bearer ${token}`);
  try {
    res = await fetch(url, { ...init, headers });
  } catch (err) {
    throw new LabError(
      'LKL_ERR_CLI_UNREACHABLE',
      `Cannot reach the lab at ${baseUrl} (${(err as Error).cause ? String((err as { cause: Error }).cause.message) : (err as Error).message}). Start it with \`lklab start\` (or \`npm start\`), or pass --url.`,
      { cause: err },
    );
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  if (!res.ok) {
    const e = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    const err = new Error(`${init.method ?? 'GET'} ${path} → ${res.status}: ${e?.message ?? text}`);
    (err as Error & { code?: string; retryAfterS?: number }).code = e?.code;
    const retryAfter = Number(res.headers.get('retry-after'));
    if (Number.isFinite(retryAfter) && retryAfter >= 0)
      (err as Error & { retryAfterS?: number }).retryAfterS = retryAfter;
    throw err;
  }
  return body as T;
}
