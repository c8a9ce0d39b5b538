import type { TokenSource } from './enrollment';

export type AdminAuth = { apiToken: string } | { username: string; password: string };

/**
 * Enrollment tokens from the controller's HTTP API (docs/http-api.md), authenticated with an API
 * token (`pft_…`, write scope) or an operator login (session cookie + CSRF header).
 */
export async function httpTokenSource(httpUrl: string, auth: AdminAuth): Promise<TokenSource> {
  const base = httpUrl.replace(/\/+$/, '');
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if ('apiToken' in auth) {
    headers.authorization = `Bearer ${auth.apiToken}`;
  } else {
    const res = await fetch(`${base}/api/auth/login`, { method: 'POST', headers, body: JSON.stringify({ username: auth.username, password: auth.password }) });
    if (res.status !== 200) throw new Error(`login as ${auth.username}: HTTP ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { csrfToken: string };
    headers.cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    headers['x-csrf-token'] = body.csrfToken;
  }
  return async () => {
    const res = await fetch(`${base}/api/enrollment-tokens`, { method: 'POST', headers, body: '{}' });
    if (res.status !== 201) throw new Error(`POST /api/enrollment-tokens: HTTP ${res.status} ${await res.text()}`);
    return ((await res.json()) as { token: string }).token;
  };
}
