import { credentials, Metadata, status, type CallOptions, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { AgentServiceClient, type AgentMessage, type ControllerMessage, type EnrollResponse } from '@portfleet/proto/gen/agent';
import { AutomationServiceClient } from '@portfleet/proto/gen/automation';

export function agentClient(address: string) {
  return new AgentServiceClient(address, credentials.createInsecure());
}

export function automationClient(address: string) {
  return new AutomationServiceClient(address, credentials.createInsecure());
}

export function bearerMetadata(value: string): Metadata {
  const m = new Metadata();
  m.set('authorization', `Bearer ${value}`);
  return m;
}

/** Request and response types of a generated unary method (its last, 4-argument overload). */
type Unary<F> = F extends (req: infer R, md: Metadata, options: Partial<CallOptions>, cb: (e: ServiceError | null, res: infer S) => void) => unknown
  ? { req: R; res: S }
  : never;

/** Promise form of a grpc-js unary call with metadata. */
export function call<C extends object, K extends keyof C>(client: C, method: K, req: Unary<C[K]>['req'], metadata = new Metadata()): Promise<Unary<C[K]>['res']> {
  const fn = client[method] as unknown as (req: unknown, md: Metadata, o: object, cb: (e: ServiceError | null, r: unknown) => void) => unknown;
  return new Promise((resolve, reject) => fn.call(client, req, metadata, {}, (err, res) => (err ? reject(err) : resolve(res as Unary<C[K]>['res']))));
}

export function enroll(client: AgentServiceClient, token: string, hostname = 'host-a'): Promise<EnrollResponse> {
  return new Promise((resolve, reject) =>
    client.enroll({ token, hostname, platform: 'linux', version: '0.1.0' }, (err, res) => (err ? reject(err) : resolve(res))),
  );
}

/** One Connect stream with an inbox the test can wait on. */
export class AgentConnection {
  readonly stream: ClientDuplexStream<AgentMessage, ControllerMessage>;
  private readonly inbox: ControllerMessage[] = [];
  private waiters: (() => void)[] = [];
  error?: ServiceError;
  ended = false;

  constructor(client: AgentServiceClient, agentId: string, credential: string) {
    this.stream = client.connect(bearerMetadata(`${agentId}.${credential}`));
    this.stream.on('data', (m: ControllerMessage) => {
      this.inbox.push(m);
      this.wake();
    });
    this.stream.on('error', (e: ServiceError) => {
      this.error = e;
      this.wake();
    });
    this.stream.on('end', () => {
      this.ended = true;
      this.wake();
    });
  }

  send(message: AgentMessage['body']): void {
    this.stream.write({ body: message });
  }

  /** Waits for (and removes) the first message of that kind. */
  async next<K extends NonNullable<ControllerMessage['body']>['$case']>(kind: K, timeoutMs = 10_000): Promise<Extract<NonNullable<ControllerMessage['body']>, { $case: K }>['value']> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex((m) => m.body?.$case === kind);
      if (i >= 0) return this.inbox.splice(i, 1)[0]!.body!.value as never; // narrowed by the $case check above
      if (this.error) throw this.error;
      if (this.ended) throw new Error(`stream ended while waiting for ${kind}`);
      if (Date.now() > deadline) throw new Error(`no ${kind} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits until the server ends the stream with an error; returns its status. */
  async failure(timeoutMs = 10_000): Promise<ServiceError> {
    const deadline = Date.now() + timeoutMs;
    while (!this.error && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (!this.error) throw new Error('the stream did not fail');
    return this.error;
  }

  close(): void {
    this.stream.end();
    this.stream.cancel();
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    w.forEach((f) => f());
  }
}

export { status };
