import path from 'node:path';
import fastifyCookie from '@fastify/cookie';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Logger } from 'pino';
import { AgentsService } from './agents/agents.service';
import { AppModule } from './app.module';
import { AuthService } from './auth/auth.service';
import type { Config } from './config';
import { EmbeddedPostgres } from './db/embedded-postgres';
import { applyMigrations } from './db/migrate';
import { GrpcServer } from './grpc/grpc-server';
import { LicensingService } from './licensing/licensing.service';
import { DomainExceptionFilter } from './http/domain-exception.filter';
import { NestPinoLogger } from './nest-logger';
import { RuleSetsService } from './rulesets/rulesets.service';

const BODY_LIMIT_BYTES = 1024 * 1024;

export interface RunningController {
  httpUrl: string;
  grpcAddress: string;
  databaseUrl: string;
  /** Set on a first start: the admin credentials to show once. */
  firstAdmin: { username: string; password: string; generated: boolean } | null;
  app: NestFastifyApplication;
  /** gRPC, then HTTP and Prisma, then the embedded PostgreSQL. */
  stop(): Promise<void>;
}

/** Boots everything in order: database (embedded or DATABASE_URL) → migrations → Nest HTTP + gRPC. */
export async function startController(config: Config, logger: Logger): Promise<RunningController> {
  const embedded = config.databaseUrl
    ? undefined
    : await EmbeddedPostgres.start({ dir: path.join(config.dataDir, 'postgres'), port: config.pgPort, logger: logger.child({ component: 'postgres' }) });
  try {
    const databaseUrl = config.databaseUrl ?? embedded!.url;
    const applied = await applyMigrations(databaseUrl);
    logger.info({ applied }, applied.length ? 'migrations applied' : 'database schema is up to date');

    const app = await NestFactory.create<NestFastifyApplication>(
      AppModule.forRoot({ config, logger, databaseUrl }),
      new FastifyAdapter({ bodyLimit: BODY_LIMIT_BYTES }),
      { logger: new NestPinoLogger(logger.child({ component: 'nest' })) },
    );
    await app.register(fastifyCookie);
    app.useGlobalFilters(new DomainExceptionFilter(logger));

    await app.get(LicensingService).init();
    await app.get(RuleSetsService).ensureDefault();
    if (config.bootstrapEnrollmentToken) await app.get(AgentsService).registerBootstrapToken(config.bootstrapEnrollmentToken);

    await app.listen(config.httpPort, config.host);
    const grpc = app.get(GrpcServer);
    const grpcPort = await grpc.listen(config.host, config.grpcPort);
    // Last, so a start that fails earlier cannot create an admin whose password nobody saw.
    const firstAdmin = await app.get(AuthService).ensureFirstAdmin(config.adminPassword);
    const httpPort = (app.getHttpServer().address() as { port: number }).port;
    const hostInUrl = config.host.includes(':') ? `[${config.host}]` : config.host;
    return {
      httpUrl: `http://${hostInUrl}:${httpPort}`,
      grpcAddress: `${hostInUrl}:${grpcPort}`,
      databaseUrl,
      firstAdmin,
      app,
      stop: async () => {
        await grpc.close();
        await app.close();
        await embedded?.stop();
      },
    };
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
}
