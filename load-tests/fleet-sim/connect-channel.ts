import { EventEmitter } from 'node:events';
import * as http2 from 'node:http2';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { AgentMessage, type ControllerMessage } from '@portfleet/proto/gen/agent';
import { decodeControllerMessage } from './controller-messages';
import { GRPC_PREFIX_BYTES } from './report-writer';

const CONNECT_PATH = '/portfleet.v1.AgentService/Connect';
/** A session that answers no ping within this long is taken for dead (a controller stopped, not closed). */
const KEEPALIVE_MS = 10_000;

/** An AgentMessage as one gRPC message: the uncompressed flag, the length, the bytes. */
export function grpcFrame(message: AgentMessage): Buffer {
  const body = AgentMessage.encode(message).finish();
  const framed = Buffer.allocUnsafe(GRPC_PREFIX_BYTES + body.length);
  framed[0] = 0;
  framed.writeUInt32BE(body.length, 1);
  framed.set(body, GRPC_PREFIX_BYTES);
  return framed;
}

/** What a stream's owner hears: as grpc-js's ClientDuplexStream says it (`error` carries a gRPC code and details). */
export interface ConnectCall {
  on(event: 'data', listener: (message: ControllerMessage) => void): this;
  on(event: 'error', listener: (error: { code: number; details: string }) => void): this;
  on(event: 'end', listener: () => void): this;
  write(message: AgentMessage): void;
  /** A message already encoded with its gRPC prefix (report-writer.ts), written as is. */
  writeFrame(frame: Buffer): void;
  cancel(): void;
}

/**
 * The AgentService Connect stream over `node:http2`, speaking the gRPC wire protocol itself
 * (`application/grpc`, length-prefixed messages, the status in trailers) instead of through
 * grpc-js. The simulator stands for thousands of separate hosts on one machine: the client's own
 * CPU per message is pure overhead there, and grpc-js's per-message path (interceptor layers,
 * object-mode streams, a promise per write, a framing copy) cost the simulator more than the report
 * itself. The controller still serves an ordinary gRPC client; enrollment stays on grpc-js
 * (channel-pool.ts). Plaintext only, as the simulator's grpc-js channels were.
 *
 * One channel = one HTTP/2 connection shared by up to `perChannel` agents' streams; a lost
 * connection fails its streams with UNAVAILABLE (their agents reconnect with backoff) and the next
 * stream opens a new connection.
 */
export class ConnectChannel {
  private session: http2.ClientHttp2Session | undefined;

  constructor(private readonly target: string) {}

  connect(authorization: string): ConnectCall {
    try {
      return new Http2ConnectCall(this.currentSession(), this.target, authorization);
    } catch {
      // The connection is going away (GOAWAY, closing) without having said so yet: a new one.
      this.close();
      return new Http2ConnectCall(this.currentSession(), this.target, authorization);
    }
  }

  close(): void {
    this.session?.destroy();
    this.session = undefined;
  }

  private currentSession(): http2.ClientHttp2Session {
    const live = this.session;
    if (live && !live.closed && !live.destroyed) return live;
    const session = http2.connect(`http://${this.target}`);
    const keepalive = setInterval(() => {
      if (session.closed || session.destroyed) return;
      const timer = setTimeout(() => session.destroy(new Error('keepalive ping unanswered')), KEEPALIVE_MS).unref();
      if (!session.ping((err) => (err ? session.destroy(err) : clearTimeout(timer)))) clearTimeout(timer);
    }, KEEPALIVE_MS).unref();
    // Failures reach the streams as their own 'close' (UNAVAILABLE); a session error needs no handler beyond that.
    session.on('error', () => undefined);
    session.on('close', () => {
      clearInterval(keepalive);
      if (this.session === session) this.session = undefined;
    });
    session.on('goaway', () => {
      if (this.session === session) this.session = undefined; // new streams go to a new connection
    });
    this.session = session;
    return session;
  }
}

class Http2ConnectCall extends EventEmitter implements ConnectCall {
  private readonly stream: http2.ClientHttp2Stream;
  /** Set once the call reported its end (status, error or cancel): nothing is emitted after it. */
  private done = false;
  /** A message split across DATA frames: its bytes so far (prefix included). */
  private partial: Buffer | undefined;

  constructor(session: http2.ClientHttp2Session, authority: string, authorization: string) {
    super();
    this.stream = session.request(
      {
        ':method': 'POST',
        ':path': CONNECT_PATH,
        ':authority': authority,
        'content-type': 'application/grpc',
        te: 'trailers',
        authorization,
      },
      { endStream: false },
    );
    this.stream.on('response', (headers) => {
      // A status in the response headers is a "trailers-only" answer (refused before any message).
      if (headers['grpc-status'] !== undefined) this.finish(headers);
      else if (headers[':status'] !== 200) this.fail(GrpcStatus.UNKNOWN, `HTTP status ${headers[':status']}`);
    });
    this.stream.on('trailers', (trailers) => this.finish(trailers));
    this.stream.on('data', (chunk: Buffer) => this.read(chunk));
    this.stream.on('error', () => undefined); // reported by 'close' below
    this.stream.on('close', () => this.fail(GrpcStatus.UNAVAILABLE, 'Connection dropped'));
  }

  write(message: AgentMessage): void {
    this.writeFrame(grpcFrame(message));
  }

  writeFrame(frame: Buffer): void {
    if (this.done || this.stream.closed || this.stream.destroyed) return;
    this.stream.write(frame);
  }

  cancel(): void {
    if (this.done) return;
    this.done = true;
    this.stream.close(http2.constants.NGHTTP2_CANCEL);
  }

  /** Whole messages out of a DATA chunk; the rest kept for the next chunk. */
  private read(chunk: Buffer): void {
    let bytes = chunk;
    if (this.partial) {
      bytes = Buffer.concat([this.partial, chunk]);
      this.partial = undefined;
    }
    let at = 0;
    while (!this.done && bytes.length - at >= GRPC_PREFIX_BYTES) {
      if (bytes[at] !== 0) return this.fail(GrpcStatus.INTERNAL, 'compressed messages are not expected');
      const length = bytes.readUInt32BE(at + 1);
      const end = at + GRPC_PREFIX_BYTES + length;
      if (end > bytes.length) break;
      let message: ControllerMessage;
      try {
        message = decodeControllerMessage(bytes.subarray(at + GRPC_PREFIX_BYTES, end));
      } catch (err) {
        return this.fail(GrpcStatus.INTERNAL, `could not decode a message: ${(err as Error).message}`);
      }
      at = end;
      this.emit('data', message);
    }
    if (at < bytes.length) this.partial = bytes.subarray(at);
  }

  private finish(trailers: http2.IncomingHttpHeaders): void {
    const code = Number(trailers['grpc-status']);
    if (code === GrpcStatus.OK) {
      if (this.done) return;
      this.done = true;
      this.emit('end');
      return;
    }
    const message = trailers['grpc-message'];
    this.fail(Number.isInteger(code) ? code : GrpcStatus.UNKNOWN, typeof message === 'string' ? decodeURIComponent(message) : '');
  }

  private fail(code: number, details: string): void {
    if (this.done) return;
    this.done = true;
    if (!this.stream.closed) this.stream.close(http2.constants.NGHTTP2_CANCEL);
    this.emit('error', { code, details });
  }
}
