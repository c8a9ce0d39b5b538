import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import {
  AgentServiceClient,
  type AdapterCommand,
  type AgentMessage,
  type ApplyRuleSet,
  type ControllerMessage,
  type EnrollResponse,
  type Hello,
  type Welcome,
} from '@portfleet/proto/gen/agent';
import type { Logger } from 'pino';
import { Backoff, DEFAULT_RECONNECT_BACKOFF, type BackoffOptions } from './backoff';
import type { Credential } from './state-store';
import { type AgentTlsFiles, tlsChannelCredentials } from './tls/agent-identity';

/** The controller's address as the CLI takes it: `host:port` (a `grpc://` or `http://` prefix is dropped). */
export function controllerTarget(controller: string): string {
  return controller.replace(/^(grpc|http):\/\//, '').replace(/\/+$/, '');
}

/**
 * The controller replicas an agent may dial, from `a:50051,b:50051` (one address is a list of one).
 * Empty entries are an error naming the option.
 */
export function controllerTargets(controllers: string): string[] {
  const targets = controllers.split(',').map((c) => controllerTarget(c.trim()));
  if (targets.some((t) => t === '')) throw new RangeError(`controller: an empty address in "${controllers}" (expected host:port[,host:port…])`);
  return targets;
}

/** Plaintext only when the agent enrolled without TLS (the controller's development mode on loopback). */
function newClient(controller: string, maxReconnectMs = DEFAULT_RECONNECT_BACKOFF.maxMs, credentials = grpc.credentials.createInsecure()): AgentServiceClient {
  return new AgentServiceClient(controllerTarget(controller), credentials, {
    // Transport keepalive finds a vanished controller (no PING answer) even when no message is due.
    'grpc.keepalive_time_ms': 5_000,
    'grpc.keepalive_timeout_ms': 5_000,
    'grpc.keepalive_permit_without_calls': 1,
    // The channel's own reconnect backoff (default cap 120 s) must not outlast ours.
    'grpc.initial_reconnect_backoff_ms': 250,
    'grpc.max_reconnect_backoff_ms': maxReconnectMs,
  });
}

/** The controller refused an enrollment (used/expired token…) or could not be reached. */
export class EnrollError extends Error {
  constructor(
    message: string,
    readonly grpcCode: grpc.status,
  ) {
    super(message);
  }
}

/**
 * Enrolls with the first controller replica that answers: an address that cannot be reached at all
 * (UNAVAILABLE) moves on to the next; any answer (accepted or refused) is final, since the token
 * may already be used up.
 */
export async function enroll(
  controllers: string,
  request: { token: string; hostname: string; platform: string; version: string; csrPem?: string },
  timeoutMs = 15_000,
  credentials?: grpc.ChannelCredentials,
): Promise<EnrollResponse> {
  const targets = controllerTargets(controllers);
  for (let i = 0; ; i++) {
    try {
      return await enrollWith(targets[i]!, request, timeoutMs, credentials);
    } catch (error) {
      if (!(error instanceof EnrollError) || error.grpcCode !== grpc.status.UNAVAILABLE || i === targets.length - 1) throw error;
    }
  }
}

async function enrollWith(
  controller: string,
  request: { token: string; hostname: string; platform: string; version: string; csrPem?: string },
  timeoutMs: number,
  credentials?: grpc.ChannelCredentials,
): Promise<EnrollResponse> {
  const client = newClient(controller, undefined, credentials);
  try {
    return await new Promise<EnrollResponse>((resolve, reject) => {
      client.enroll(request, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (error, response) => {
        if (!error) return resolve(response);
        const reason =
          error.code === grpc.status.UNAVAILABLE || error.code === grpc.status.DEADLINE_EXCEEDED
            ? `controller ${controllerTarget(controller)} is not reachable (${error.details || grpc.status[error.code]})`
            : `controller refused the enrollment: ${error.details || grpc.status[error.code]}`;
        reject(new EnrollError(reason, error.code));
      });
    });
  } finally {
    client.close();
  }
}

export interface ControllerLinkOptions {
  credential: Credential;
  /** The agent's TLS identity from enrollment (tls/agent-identity.ts): mutual TLS with the CA pinned. */
  tls?: AgentTlsFiles;
  /** Built anew for every connection, so it carries what the agent runs at that moment. */
  hello: () => Promise<Hello>;
  log: Logger;
  backoff?: BackoffOptions;
  /** A stream that has not been welcomed within this time is given up. */
  handshakeTimeoutMs?: number;
}

export interface ControllerLinkEvents {
  connected: [welcome: Welcome];
  disconnected: [reason: string];
  apply: [message: ApplyRuleSet];
  activityAck: [seq: number];
  adapterCommand: [command: AdapterCommand];
}

const DEFAULT_HEARTBEAT_MS = 5_000;
/** Missed controller heartbeats after which the stream counts as dead. */
const MISSED_HEARTBEATS = 3;

/**
 * Holds the one Connect stream to the controller for as long as the agent runs: says Hello,
 * heartbeats, notices a dead stream within seconds and reconnects with capped, jittered backoff.
 * With several controller replicas (`credential.controller` = `a:50051,b:50051`) each new stream
 * dials the replica after the one the last stream used, so an agent whose replica died lands on
 * a live one within a backoff step or two.
 * What travels on the stream is the business of the apply pipeline and the reporter.
 */
export class ControllerLink extends EventEmitter<ControllerLinkEvents> {
  private readonly targets: string[];
  private clients: AgentServiceClient[];
  /** Clients of a replaced TLS identity, closed once the stream that may still use one has ended. */
  private retired: AgentServiceClient[] = [];
  /** Streams opened so far; stream k dials targets[k mod n]. */
  private attempts = 0;
  private readonly backoff: Backoff;
  private call: grpc.ClientDuplexStream<AgentMessage, ControllerMessage> | undefined;
  private established = false;
  private stopped = false;
  private wakeUp: (() => void) | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: ControllerLinkOptions) {
    super();
    const backoff = options.backoff ?? DEFAULT_RECONNECT_BACKOFF;
    const credentials = options.tls && tlsChannelCredentials(options.tls);
    this.targets = controllerTargets(options.credential.controller);
    this.clients = this.targets.map((target) => newClient(target, backoff.maxMs, credentials));
    this.backoff = new Backoff(backoff);
  }

  get connected(): boolean {
    return this.established;
  }

  /** A renewed identity: the streams opened from now on present it (the live one keeps its session). */
  useTls(tls: AgentTlsFiles): void {
    const maxMs = (this.options.backoff ?? DEFAULT_RECONNECT_BACKOFF).maxMs;
    const credentials = tlsChannelCredentials(tls);
    this.retired.push(...this.clients);
    this.clients = this.targets.map((target) => newClient(target, maxMs, credentials));
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** Sends on the live stream; false when there is none (the caller keeps what it owes). */
  send(message: AgentMessage): boolean {
    if (!this.call || !this.established || this.stopped) return false;
    this.call.write(message);
    return true;
  }

  /**
   * Half-closes the stream so what was written (the last activity report) reaches the controller,
   * waits up to `graceMs` for it to close its side, then cancels.
   */
  async stop(graceMs = 1_000): Promise<void> {
    this.stopped = true;
    this.wakeUp?.();
    const call = this.call;
    if (call) {
      call.end();
      const timer = setTimeout(() => call.cancel(), graceMs);
      await this.running;
      clearTimeout(timer);
    }
    await this.running;
    for (const client of [...this.retired.splice(0), ...this.clients]) client.close();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const { reason, wasEstablished } = await this.session();
      if (this.stopped) break;
      if (wasEstablished) this.backoff.reset();
      const delayMs = Math.round(this.backoff.next());
      this.options.log.warn(
        { event: wasEstablished ? 'controller.disconnected' : 'controller.connect_failed', reason, retryInMs: delayMs },
        wasEstablished ? 'controller stream ended' : 'could not open a stream to the controller',
      );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }

  /** One Connect stream from open to end; resolves with why it ended. */
  private session(): Promise<{ reason: string; wasEstablished: boolean }> {
    const { credential, log } = this.options;
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${credential.agentId}.${credential.credential}`);
    const index = this.attempts++ % this.targets.length;
    for (const client of this.retired.splice(0)) client.close();
    const call = this.clients[index]!.connect(metadata);
    this.call = call;

    return new Promise((resolve) => {
      let heartbeat: NodeJS.Timeout | undefined;
      let watchdog: NodeJS.Timeout | undefined;
      let finished = false;

      const finish = (reason: string) => {
        if (finished) return;
        finished = true;
        clearInterval(heartbeat);
        clearTimeout(watchdog);
        const wasEstablished = this.established;
        this.established = false;
        this.call = undefined;
        call.cancel();
        if (wasEstablished) this.emit('disconnected', reason);
        resolve({ reason, wasEstablished });
      };
      const arm = (ms: number, why: string) => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => finish(why), ms);
      };

      arm(this.options.handshakeTimeoutMs ?? 10_000, 'no Welcome from the controller');
      let heartbeatMs = DEFAULT_HEARTBEAT_MS;
      // Armed once the controller has shown that it heartbeats: from then on silence means death.
      let controllerHeartbeats = false;

      call.on('data', (message: ControllerMessage) => {
        if (this.established && controllerHeartbeats) {
          arm(heartbeatMs * MISSED_HEARTBEATS, `no message from the controller for ${heartbeatMs * MISSED_HEARTBEATS} ms`);
        }
        const body = message.body;
        switch (body?.$case) {
          case 'welcome': {
            if (this.established) return;
            clearTimeout(watchdog);
            heartbeatMs = body.value.heartbeatIntervalMs || DEFAULT_HEARTBEAT_MS;
            heartbeat = setInterval(() => {
              if (!this.stopped) call.write({ body: { $case: 'heartbeat', value: { sentAtMs: Date.now() } } });
            }, heartbeatMs);
            this.established = true;
            log.info({ event: 'controller.connected', agentId: body.value.agentId, controller: this.targets[index], heartbeatMs }, 'controller stream established');
            this.emit('connected', body.value);
            return;
          }
          case 'heartbeat':
            if (!controllerHeartbeats && this.established) {
              controllerHeartbeats = true;
              arm(heartbeatMs * MISSED_HEARTBEATS, `no message from the controller for ${heartbeatMs * MISSED_HEARTBEATS} ms`);
            }
            return;
          case 'apply':
            if (this.established) this.emit('apply', body.value);
            return;
          case 'activityAck':
            if (this.established) this.emit('activityAck', body.value.seq);
            return;
          case 'adapterCommand':
            if (this.established) this.emit('adapterCommand', body.value);
            return;
          default:
            log.warn({ event: 'controller.unknown_message' }, 'ignored a controller message of an unknown kind');
        }
      });
      call.on('error', (error: grpc.ServiceError) => {
        if (error.code === grpc.status.UNAUTHENTICATED || error.code === grpc.status.PERMISSION_DENIED) {
          log.error({ event: 'controller.rejected', code: grpc.status[error.code], details: error.details }, 'the controller rejected this agent\'s credential; enroll again if it was revoked');
        }
        finish(`${grpc.status[error.code] ?? error.code}: ${error.details || error.message}`);
      });
      call.on('end', () => finish('the controller closed the stream'));
      call.on('close', () => finish('stream closed'));

      this.options.hello().then(
        (hello) => finished || call.write({ body: { $case: 'hello', value: hello } }),
        (error: Error) => finish(`could not build Hello: ${error.message}`),
      );
    });
  }
}
