import * as grpc from '@grpc/grpc-js';
import {
  AgentServiceService,
  type Ack,
  type AdapterCommand,
  type AdapterCommandResult,
  type AgentMessage,
  type AgentServiceServer,
  type ApplyRuleSet,
  type ControllerMessage,
  type Hello,
} from '@portfleet/proto/gen/agent';

/** What the fake controller remembers across restarts (like the real one's database). */
export interface ControllerMemory {
  tokens: Map<string, boolean>; // token → used
  agents: Map<string, string>; // agentId → credential
  storedSeqs: Map<string, Set<number>>;
  packetsIn: Map<string, number>; // agentId → sum of packetsIn over stored reports
  duplicates: number;
}

export function newMemory(tokens: string[] = []): ControllerMemory {
  return { tokens: new Map(tokens.map((t) => [t, false])), agents: new Map(), storedSeqs: new Map(), packetsIn: new Map(), duplicates: 0 };
}

export interface AgentStream {
  agentId: string;
  authorization: string;
  hello?: Hello;
  /** Every Hello on this stream (the agent sends a fresh one after an adapter change). */
  hellos: Hello[];
  adapterResults: AdapterCommandResult[];
  acks: Ack[];
  heartbeats: number;
  ended: boolean;
  push(message: ApplyRuleSet): void;
  command(message: AdapterCommand): void;
}

/**
 * A real grpc-js server implementing AgentService the way the contract describes it: one-time
 * tokens, Bearer credentials, Welcome with the stored activity seq, reports stored once per seq
 * and acked, heartbeats answered (unless told to play dead).
 */
export class FakeController {
  readonly streams: AgentStream[] = [];
  /** While true the controller keeps streams open but sends nothing (a hung controller). */
  silent = false;
  private waiters: { check: () => boolean; resolve: () => void }[] = [];

  private constructor(
    private readonly server: grpc.Server,
    readonly address: string,
    readonly memory: ControllerMemory,
    private readonly heartbeatIntervalMs: number,
    /** Sent at enrollment, as the real controller sends the key its capability snapshots are signed with. */
    private readonly capabilityPublicKeyPem?: string,
  ) {}

  /** `unixSocket`: listen on `unix:<path>` instead of loopback TCP (reachable from other network namespaces). */
  static async start(
    options: { port?: number; unixSocket?: string; memory?: ControllerMemory; heartbeatIntervalMs?: number; capabilityPublicKeyPem?: string } = {},
  ): Promise<FakeController> {
    const server = new grpc.Server();
    const memory = options.memory ?? newMemory();
    const bind = options.unixSocket ? `unix:${options.unixSocket}` : `127.0.0.1:${options.port ?? 0}`;
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(bind, grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    const address = options.unixSocket ? bind : `127.0.0.1:${port}`;
    const controller = new FakeController(server, address, memory, options.heartbeatIntervalMs ?? 1_000, options.capabilityPublicKeyPem);
    server.addService(AgentServiceService, controller.implementation());
    return controller;
  }

  /** The TCP port (loopback controllers only). */
  get port(): number {
    return Number(this.address.split(':').at(-1));
  }

  /** Resolves once `check` holds (checked after every event). */
  until(check: () => boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`fake controller: timed out waiting for ${what}`)), timeoutMs);
      this.waiters.push({ check, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  /** Ends every stream and the server at once, like a killed process. */
  kill(): void {
    this.server.forceShutdown();
  }

  private changed(): void {
    this.waiters = this.waiters.filter((w) => {
      if (!w.check()) return true;
      w.resolve();
      return false;
    });
  }

  private implementation(): AgentServiceServer {
    const memory = this.memory;
    return {
      enroll: (call, callback) => {
        const used = memory.tokens.get(call.request.token);
        if (used === undefined) return callback({ code: grpc.status.UNAUTHENTICATED, details: 'enrollment token is not valid' });
        if (used) return callback({ code: grpc.status.FAILED_PRECONDITION, details: 'enrollment token was already used' });
        memory.tokens.set(call.request.token, true);
        const agentId = `agent-${memory.agents.size + 1}`;
        const credential = `secret-${agentId}`;
        memory.agents.set(agentId, credential);
        callback(null, { agentId, credential, capabilityPublicKeyPem: this.capabilityPublicKeyPem });
      },
      connect: (call) => {
        const authorization = String(call.metadata.get('authorization')[0] ?? '');
        const match = /^Bearer ([^.]+)\.(.+)$/.exec(authorization);
        if (!match || memory.agents.get(match[1]!) !== match[2]) {
          call.emit('error', { code: grpc.status.UNAUTHENTICATED, details: 'unknown agent credential' });
          return;
        }
        const agentId = match[1]!;
        const send = (message: ControllerMessage) => {
          if (!this.silent && !stream.ended) call.write(message);
        };
        const stream: AgentStream = {
          agentId,
          authorization,
          hellos: [],
          adapterResults: [],
          acks: [],
          heartbeats: 0,
          ended: false,
          push: (value) => send({ body: { $case: 'apply', value } }),
          command: (value) => send({ body: { $case: 'adapterCommand', value } }),
        };
        this.streams.push(stream);
        call.on('data', (message: AgentMessage) => {
          const body = message.body;
          switch (body?.$case) {
            case 'hello': {
              stream.hellos.push(body.value);
              // Only the first Hello opens the session; later ones update the inventory.
              if (stream.hello) {
                stream.hello = body.value;
                break;
              }
              stream.hello = body.value;
              const seqs = memory.storedSeqs.get(agentId) ?? new Set<number>();
              send({ body: { $case: 'welcome', value: { agentId, heartbeatIntervalMs: this.heartbeatIntervalMs, activitySeqStored: Math.max(0, ...seqs) } } });
              break;
            }
            case 'heartbeat':
              stream.heartbeats++;
              send({ body: { $case: 'heartbeat', value: { sentAtMs: Date.now() } } });
              break;
            case 'ack':
              stream.acks.push(body.value);
              break;
            case 'adapterResult':
              stream.adapterResults.push(body.value);
              break;
            case 'activity': {
              if (this.silent) break; // a hung controller stores nothing
              const seqs = memory.storedSeqs.get(agentId) ?? new Set<number>();
              memory.storedSeqs.set(agentId, seqs);
              if (seqs.has(body.value.seq)) memory.duplicates++;
              else {
                seqs.add(body.value.seq);
                const sum = body.value.rules.reduce((s, r) => s + r.packetsIn, 0);
                memory.packetsIn.set(agentId, (memory.packetsIn.get(agentId) ?? 0) + sum);
              }
              send({ body: { $case: 'activityAck', value: { seq: body.value.seq } } });
              break;
            }
          }
          this.changed();
        });
        const end = () => {
          stream.ended = true;
          this.changed();
        };
        call.on('end', () => {
          end();
          call.end();
        });
        call.on('error', end);
        call.on('cancelled', end);
        this.changed();
      },
    };
  }
}
