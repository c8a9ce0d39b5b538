import type { ServerDuplexStream } from '@grpc/grpc-js';
import { Inject, Injectable } from '@nestjs/common';
import { ruleErrorFromWire } from '@portfleet/proto';
import type { ActivityReport, Adapter, AgentMessage, AgentServiceServer, ControllerMessage, EnrollRequest, EnrollResponse, Hello } from '@portfleet/proto/gen/agent';
import type { AdapterView } from '../agents/agent-view';
import { AgentPresence, type ConnectingAgent, type HelloInput } from '../agents/agent-presence';
import type { Logger } from 'pino';
import { encodeActivityAck } from '../activity/activity-ack';
import { ActivityService } from '../activity/activity.service';
import { AgentStreams, type AgentStream } from '../agents/agent-streams';
import { AgentError } from '../agents/agents.errors';
import { AgentsService, ENROLLMENT_TOKEN_PREFIX } from '../agents/agents.service';
import { LOGGER } from '../core.module';
import { ValidationError } from '../errors/domain-error';
import { AdapterCommands } from '../agents/adapter-commands';
import { PushDelivery } from '../pushes/push-delivery';
import { peerCertificateDer } from '../tls/agent-peer';
import { AgentTls } from '../tls/agent-tls';
import { bearer, toGrpcError, unary } from './grpc-status';

/** Agents treat three missed heartbeats as a hung controller (~15 s). */
export const HEARTBEAT_INTERVAL_MS = 5_000;

/** What the stream learned when it opened: the agent's row (one read) and whether the agent is still there. */
interface Connection {
  agent: ConnectingAgent;
  abandoned: () => boolean;
}

/** The agents' side of gRPC: enrollment and the long-lived Connect stream. */
@Injectable()
export class AgentServiceGrpc {
  constructor(
    private readonly agents: AgentsService,
    private readonly presence: AgentPresence,
    private readonly streams: AgentStreams,
    private readonly pushes: PushDelivery,
    private readonly commands: AdapterCommands,
    private readonly activity: ActivityService,
    private readonly tls: AgentTls,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  implementation(): AgentServiceServer {
    return {
      enroll: (call, callback) => unary(this.logger, (req: EnrollRequest) => this.enroll(req, peerCertificateDer(call)))(call, callback),
      connect: (call) => this.connect(call),
    };
  }

  private async enroll(req: EnrollRequest, peer: Buffer | undefined): Promise<EnrollResponse> {
    if (!req.token) throw new ValidationError('token', 'REQUIRED', 'is required');
    if (this.tls.enabled && !req.token.startsWith(ENROLLMENT_TOKEN_PREFIX)) return this.renewCertificate(req, peer);
    if (!req.hostname) throw new ValidationError('hostname', 'REQUIRED', 'is required');
    await this.tls.checkCsr(req.csrPem);
    const enrolled = await this.agents.enroll(req);
    const issued = await this.tls.issue(enrolled.agentId, req.csrPem);
    this.logger.info({ agentId: enrolled.agentId, hostname: req.hostname }, 'agent enrolled');
    return { ...enrolled, ...(issued && { clientCertificatePem: issued.certificatePem, caCertificatePem: issued.caPem }) };
  }

  /**
   * Certificate rotation (docs/security.md): an enrolled agent calls Enroll with its own credential
   * as the token, over mutual TLS with its current certificate, and a CSR for a new key. Both
   * proofs must name the same agent; the answer carries no new credential.
   */
  private async renewCertificate(req: EnrollRequest, peer: Buffer | undefined): Promise<EnrollResponse> {
    const agent = await this.presence.authenticate(req.token);
    await this.tls.requirePeer(peer, agent.id);
    await this.tls.checkCsr(req.csrPem);
    const issued = (await this.tls.issue(agent.id, req.csrPem))!;
    this.logger.info({ agentId: agent.id, serial: issued.serial }, 'agent certificate renewed');
    return { agentId: agent.id, credential: '', clientCertificatePem: issued.certificatePem, caCertificatePem: issued.caPem };
  }

  private connect(call: ServerDuplexStream<AgentMessage, ControllerMessage>): void {
    let connection: Connection | undefined;
    let ended = false;
    const fail = (err: unknown) => {
      if (ended) return;
      ended = true;
      call.emit('error', toGrpcError(err, this.logger));
    };
    const stream: AgentStream = {
      send: (message) => {
        if (ended || call.destroyed || call.cancelled) return false;
        // Bytes are passed through by the server's serializer (grpc-server.ts).
        call.write(message as ControllerMessage);
        return true;
      },
      close: (reason) => {
        if (reason) return fail(reason);
        if (!ended) call.end();
        ended = true;
      },
    };
    // Messages are handled strictly in order (hello before ack before activity). `pending` counts
    // the links of the chain not done yet (the credential check first); it never drops back to 0
    // once a link failed, since nothing after a failure is handled.
    let pending = 1;
    let queue: Promise<void> = (async () => {
      const token = bearer(call.metadata);
      if (!token) throw AgentError.badCredential();
      const agent = await this.presence.authenticate(token);
      // The bearer credential and the TLS client certificate must name the same agent.
      await this.tls.requirePeer(peerCertificateDer(call), agent.id);
      connection = { agent, abandoned: () => ended || call.cancelled || call.destroyed };
    })();
    queue.then(() => void pending--, fail);
    const failed = (err: unknown) => {
      fail(err);
      throw err; // keep the chain failed: nothing after a failure is handled
    };

    call.on('data', (message: AgentMessage) => {
      const body = message.body;
      // A heartbeat is answered at once, not behind the Hello's catch-up (which may wait its turn
      // in a connect storm): the agent takes three missed answers for a hung controller.
      if (body?.$case === 'heartbeat' && connection) {
        stream.send({ body: { $case: 'heartbeat', value: { sentAtMs: Date.now() } } });
        return;
      }
      // An activity report with nothing before it still in hand and room in the ingest queue is
      // queued right here: no promise chain per report at thousands of reports a second.
      if (body?.$case === 'activity' && pending === 0 && !ended) {
        try {
          if (this.offerActivity(connection!.agent.id, body.value, stream)) return;
        } catch {
          // An invalid report: the ordered path below checks it again (activity.enqueue) and fails
          // the stream with the same error.
        }
      }
      pending++;
      queue = queue.then(() => this.handle(connection!.agent.id, message, stream, connection!)).then(() => void pending--, failed);
      queue.catch(() => undefined);
    });
    const finish = () => {
      const agentId = connection?.agent.id;
      if (agentId && this.streams.detach(agentId, stream)) {
        // A failed leaves batch is logged once by the presence batcher.
        void this.presence.disconnected(agentId).catch((err) => this.logger.debug({ err, agentId }, 'could not record last seen'));
        this.logger.info({ agentId }, 'agent disconnected');
      }
    };
    call.on('end', () => {
      stream.close();
      finish();
    });
    call.on('cancelled', finish);
    call.on('close', finish);
    call.on('error', finish);
  }

  /** Queues a report without waiting (ActivityService.offer); false when it has to wait (then it goes through `handle`). */
  private offerActivity(agentId: string, r: ActivityReport, stream: AgentStream): boolean {
    return this.activity.offer(agentId, { seq: r.seq, periodEndMs: r.periodEndMs, rules: r.rules }, (stored) => stored && stream.send(encodeActivityAck(r.seq)));
  }

  private async handle(agentId: string, message: AgentMessage, stream: AgentStream, connection: Connection): Promise<void> {
    const body = message.body;
    switch (body?.$case) {
      case 'hello': {
        // The Welcome needs nothing but what was read when the stream opened (no watermark yet = nothing stored).
        const stored = connection.agent.activityWatermark?.seq ?? 0n;
        stream.send({ body: { $case: 'welcome', value: { agentId, heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS, activitySeqStored: Number(stored) } } });
        this.logger.info({ agentId, hostname: body.value.hostname }, 'agent connected');
        // Written (batched) before the agent shows online and before anything else of this stream is
        // handled (a later ack's applied version wins).
        const agent = await this.presence.hello(connection.agent, helloInput(body.value));
        if (connection.abandoned()) return;
        this.streams.attach(agentId, stream);
        this.presence.connected(agent);
        // Not awaited: after a connect storm the catch-up may wait its turn, and the stream's next
        // messages (the ack of a push sent meanwhile) must not wait behind it. A failed catch-up
        // fails the stream as a failed message would (the agent reconnects and says Hello again).
        this.pushes.catchUp(agent, connection.abandoned).catch((err: unknown) => stream.close(err instanceof Error ? err : new Error(String(err))));
        return;
      }
      case 'ack': {
        const a = body.value;
        await this.pushes.ack(agentId, { ...a, errors: a.errors.map(ruleErrorFromWire) });
        return;
      }
      case 'activity': {
        const r = body.value;
        // Queued in stream order (waiting while the ingest queue is full); acked once its batch
        // committed, while the stream goes on with its next messages.
        const { durable } = await this.activity.enqueue(agentId, { seq: r.seq, periodEndMs: r.periodEndMs, rules: r.rules });
        void durable.then((stored) => stored && stream.send(encodeActivityAck(r.seq)));
        return;
      }
      case 'adapterResult': {
        const r = body.value;
        this.logger.info({ agentId, commandId: r.commandId, ok: r.ok, error: r.error || undefined }, 'adapter command result');
        if (r.adapters.length > 0) await this.presence.updateAdapters(agentId, r.adapters.map(adapterView));
        this.commands.settle(agentId, r);
        return;
      }
      case 'heartbeat':
        // Only before the credential check ended (answered at once after it). Nothing is written:
        // an online agent's last-seen is "now" (AgentPresence writes it when it leaves).
        stream.send({ body: { $case: 'heartbeat', value: { sentAtMs: Date.now() } } });
        return;
      default:
        throw new ValidationError('body', 'REQUIRED', 'an AgentMessage needs one of hello, ack, activity, heartbeat');
    }
  }
}

function adapterView(a: Adapter): AdapterView {
  return { name: a.name, index: a.index, macs: a.macs, addresses: a.addresses };
}

function helloInput(h: Hello): HelloInput {
  return {
    hostname: h.hostname,
    platform: h.platform,
    version: h.version,
    adapters: h.adapters.map(adapterView),
    dataplane: h.dataplane,
    ...(h.appliedRuleSetId !== '' && {
      applied: { ruleSetId: h.appliedRuleSetId, version: h.appliedVersion, contentHash: h.appliedContentHash },
    }),
  };
}
