import { Server } from '@grpc/grpc-js';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { AgentServiceService, type ControllerMessage } from '@portfleet/proto/gen/agent';
import { AutomationServiceService } from '@portfleet/proto/gen/automation';
import type { Logger } from 'pino';
import { decodeAgentMessage } from '../activity/activity-wire';
import { AgentStreams } from '../agents/agent-streams';
import { LOGGER } from '../core.module';
import { AgentTls } from '../tls/agent-tls';
import { AgentServiceGrpc } from './agent-service.grpc';
import { AutomationServiceGrpc } from './automation-service.grpc';

const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/**
 * AgentService whose Connect stream also takes ControllerMessages already encoded (a Buffer goes
 * out as it is): a push encodes its ApplyRuleSet once, not once per agent (pushes/apply-messages.ts).
 * Agent messages are read by the activity path's decoder (numbers without BigInt; anything else
 * falls back to the generated one, activity/activity-wire.ts).
 */
const AGENT_SERVICE = {
  ...AgentServiceService,
  connect: {
    ...AgentServiceService.connect,
    requestDeserialize: decodeAgentMessage,
    responseSerialize: (value: ControllerMessage | Buffer): Buffer => (Buffer.isBuffer(value) ? value : AgentServiceService.connect.responseSerialize(value)),
  },
};

/**
 * The plain grpc-js server for AgentService and AutomationService, with TLS from the controller's
 * own CA (tls/agent-tls.ts); plaintext only in development mode on loopback.
 */
@Injectable()
export class GrpcServer implements OnApplicationShutdown {
  private server?: Server;

  constructor(
    private readonly agentService: AgentServiceGrpc,
    private readonly automationService: AutomationServiceGrpc,
    private readonly streams: AgentStreams,
    private readonly tls: AgentTls,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Returns the bound port (useful with port 0). */
  async listen(host: string, port: number): Promise<number> {
    const server = new Server({
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      // Pings find agents that vanished without closing their connection, so they go offline.
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
    });
    server.addService(AGENT_SERVICE, this.agentService.implementation());
    server.addService(AutomationServiceService, this.automationService.implementation());
    const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    // TLS (docs/security.md) unless development mode on loopback; AgentTls logs that loudly.
    const credentials = await this.tls.serverCredentials();
    const bound = await new Promise<number>((resolve, reject) =>
      server.bindAsync(address, credentials, (err, p) => (err ? reject(err) : resolve(p))),
    );
    this.server = server;
    return bound;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }

  /** Ends agent streams (they reconnect later), then stops accepting calls. Idempotent. */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.streams.closeAll();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 3000);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }
}
