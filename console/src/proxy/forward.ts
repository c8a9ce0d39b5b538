/**
 * Forwards one `/api/*` request to the controller and its answer back, unchanged: method, path,
 * query, headers (cookies in, every `set-cookie` out), body and status. Bodies stream both ways so
 * server-sent events pass through as they are written.
 */

// Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection, not to the message.
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer'];

/** Read per request so `next start` honours the variable of the process it runs in. */
export function controllerUrl(): string {
  return (process.env.PORTFLEET_CONTROLLER_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
}

export async function forward(incoming: Request): Promise<Response> {
  const source = new URL(incoming.url);
  const target = `${controllerUrl()}${source.pathname}${source.search}`;

  const headers = new Headers(incoming.headers);
  for (const name of [...HOP_BY_HOP, 'host', 'content-length']) headers.delete(name);
  // The body must reach the browser byte for byte; fetch would decode a compressed answer.
  headers.set('accept-encoding', 'identity');
  headers.set('x-forwarded-host', incoming.headers.get('host') ?? source.host);
  headers.set('x-forwarded-proto', source.protocol.replace(':', ''));

  const hasBody = incoming.method !== 'GET' && incoming.method !== 'HEAD' && incoming.body !== null;
  let upstream: Response;
  try {
    upstream = await fetch(target, {
      method: incoming.method,
      headers,
      body: hasBody ? incoming.body : undefined,
      redirect: 'manual',
      signal: incoming.signal,
      cache: 'no-store',
      // Node's fetch needs this to send a streamed request body.
      ...(hasBody ? { duplex: 'half' } : {}),
    } as RequestInit);
  } catch (error) {
    return Response.json(
      {
        error: {
          code: 'CONTROLLER_UNREACHABLE',
          message: `The console cannot reach the controller at ${controllerUrl()}: ${(error as Error).message}`,
          details: [],
        },
      },
      { status: 502 },
    );
  }

  const answer = new Headers();
  upstream.headers.forEach((value, name) => {
    if (name === 'set-cookie' || HOP_BY_HOP.includes(name)) return;
    answer.set(name, value);
  });
  // Headers.forEach joins repeated set-cookie headers; each cookie has to travel on its own.
  for (const cookie of upstream.headers.getSetCookie()) answer.append('set-cookie', cookie);
  if (answer.get('content-type')?.startsWith('text/event-stream')) answer.set('x-accel-buffering', 'no');

  return new Response(upstream.body, { status: upstream.status, statusText: upstream.statusText, headers: answer });
}
