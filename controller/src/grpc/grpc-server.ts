import { Server, ServerCredentials } from '@grpc/grpc-js';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { AgentServiceService } from '@portfleet/proto/gen/agent';
import { AutomationServiceService } from '@portfleet/proto/gen/automation';
import type { Logger } from 'pino';
import { AgentStreams } from '../agents/agent-streams';
import { LOGGER } from '../core.module';
import { AgentServiceGrpc } from './agent-service.grpc';
import { AutomationServiceGrpc } from './automation-service.grpc';

const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/**
 * The plain grpc-js server for AgentService and AutomationService. Plaintext for now (TLS with
 * agent certificates is issue 7), so main.ts binds it to PORTFLEET_HOST (loopback by default).
 */
@Injectable()
export class GrpcServer implements OnApplicationShutdown {
  private server?: Server;

  constructor(
    private readonly agentService: AgentServiceGrpc,
    private readonly automationService: AutomationServiceGrpc,
    private readonly streams: AgentStreams,
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
    server.addService(AgentServiceService, this.agentService.implementation());
    server.addService(AutomationServiceService, this.automationService.implementation());
    const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    const bound = await new Promise<number>((resolve, reject) =>
      server.bindAsync(address, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    this.server = server;
    if (host !== '127.0.0.1' && host !== '::1' && host !== 'localhost') {
      this.logger.warn({ host }, 'gRPC runs WITHOUT TLS on a non-loopback address: agents credentials travel in plaintext');
    }
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
