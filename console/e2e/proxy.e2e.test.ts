/**
 * The console's same-origin `/api/*` proxy (app/api/[...path]/route.ts) in the built console
 * (`next start`), against a real HTTP server in the controller's place: requests arrive unchanged
 * (method, path, query, cookies, CSRF header, bytes of the body), answers come back unchanged
 * (status, headers, every set-cookie, body), server-sent events stream through as written, a
 * browser that goes away closes the upstream request, and the controller's address is read when
 * the console starts, not when it was built. Needs `npm run build`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { freePort } from '../../test/support/ports';
import { Service } from '../../test/support/service';
import { REPO } from '../../test/support/stack';

jest.setTimeout(60_000);

let upstream: Server;
let upstreamUrl: string;
let consoleService: Service;
let consoleUrl: string;
/** Lets the event stream's second event go; the test holds it back to see the first arrive alone. */
let releaseSecondEvent: () => void = () => undefined;
let eventStreamClosed: Promise<void> = Promise.resolve();

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url!, 'http://upstream');
  if (url.pathname === '/api/events') {
    let closed!: () => void;
    eventStreamClosed = new Promise((resolve) => (closed = resolve));
    res.on('close', closed);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write('data: one\n\n');
    await new Promise<void>((resolve) => (releaseSecondEvent = resolve));
    if (!res.destroyed) res.end('data: two\n\n');
    return;
  }
  const body = await readBody(req);
  if (url.pathname === '/api/missing') {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'AGENT_NOT_FOUND', message: 'no such agent', details: [] } }));
    return;
  }
  res.writeHead(Number(url.searchParams.get('status') ?? 200), {
    'content-type': 'application/json',
    'x-upstream': 'yes',
    'set-cookie': ['pf_session=s1; HttpOnly; SameSite=Strict; Path=/', 'pf_csrf=c1; SameSite=Strict; Path=/'],
  });
  res.end(JSON.stringify({
    method: req.method,
    url: req.url,
    cookie: req.headers.cookie ?? null,
    csrf: req.headers['x-csrf-token'] ?? null,
    contentType: req.headers['content-type'] ?? null,
    body: body.toString('base64'),
  }));
}

beforeAll(async () => {
  upstream = createServer((req, res) => void handle(req, res));
  const upstreamPort = await freePort();
  await new Promise<void>((resolve) => upstream.listen(upstreamPort, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${upstreamPort}`;

  const port = await freePort();
  consoleService = new Service(
    'console',
    process.execPath,
    [join(REPO, 'node_modules/next/dist/bin/next'), 'start', '-p', String(port), '-H', '127.0.0.1'],
    { cwd: join(REPO, 'console'), env: { PORTFLEET_CONTROLLER_URL: upstreamUrl } },
  );
  await consoleService.waitFor(/Ready/i, 30_000);
  consoleUrl = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await consoleService?.stop();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
});

test.each(['POST', 'PUT', 'PATCH', 'DELETE'])('%s: method, path, query, cookies, CSRF and body bytes arrive unchanged', async (method) => {
  const bytes = Uint8Array.from({ length: 256 }, (_, i) => i); // not valid UTF-8: must not be re-encoded
  const res = await fetch(`${consoleUrl}/api/rule-sets/r1/rules/x%2Fy?position=2&b=%C3%A9`, {
    method,
    headers: { cookie: 'pf_session=abc; pf_csrf=t1', 'x-csrf-token': 't1', 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  expect(res.status).toBe(200);
  const seen = await res.json();
  expect(seen).toEqual({
    method,
    url: '/api/rule-sets/r1/rules/x%2Fy?position=2&b=%C3%A9',
    cookie: 'pf_session=abc; pf_csrf=t1',
    csrf: 't1',
    contentType: 'application/octet-stream',
    body: Buffer.from(bytes).toString('base64'),
  });
});

test('status, headers and every set-cookie come back unchanged', async () => {
  const res = await fetch(`${consoleUrl}/api/auth/login?status=201`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: 'pw' }),
  });
  expect(res.status).toBe(201);
  expect(res.headers.get('x-upstream')).toBe('yes');
  expect(res.headers.getSetCookie()).toEqual([
    'pf_session=s1; HttpOnly; SameSite=Strict; Path=/',
    'pf_csrf=c1; SameSite=Strict; Path=/',
  ]);
  expect(JSON.parse(Buffer.from((await res.json()).body, 'base64').toString())).toEqual({ username: 'admin', password: 'pw' });

  const missing = await fetch(`${consoleUrl}/api/missing`);
  expect(missing.status).toBe(404);
  expect(await missing.json()).toEqual({ error: { code: 'AGENT_NOT_FOUND', message: 'no such agent', details: [] } });
});

test('server-sent events stream through as written, and a browser leaving closes the upstream', async () => {
  const abort = new AbortController();
  // As a browser does: Next compresses such answers and must still flush every event at once.
  const res = await fetch(`${consoleUrl}/api/events`, { signal: abort.signal, headers: { 'accept-encoding': 'gzip' } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/event-stream');
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  // The upstream holds the second event back: the first must arrive on its own.
  const first = await reader.read();
  expect(decoder.decode(first.value)).toBe('data: one\n\n');

  const closedInTime = Promise.race([
    eventStreamClosed.then(() => true),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5000)),
  ]);
  abort.abort();
  expect(await closedInTime).toBe(true);
  releaseSecondEvent();
});

test('an unreachable controller is a 502 in the API error shape', async () => {
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
  const res = await fetch(`${consoleUrl}/api/agents`);
  expect(res.status).toBe(502);
  const body = await res.json();
  expect(body.error.code).toBe('CONTROLLER_UNREACHABLE');
  expect(body.error.message).toContain(upstreamUrl);
});
