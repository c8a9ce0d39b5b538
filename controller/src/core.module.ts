import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { Logger } from 'pino';
import type { Config } from './config';
import { PrismaService } from './db/prisma.service';

export const CONFIG = Symbol('CONFIG');
export const LOGGER = Symbol('LOGGER');

export interface CoreOptions {
  config: Config;
  logger: Logger;
  /** The database to use (external DATABASE_URL or the embedded server's). */
  databaseUrl: string;
}

/** Config, logger and the Prisma client, available to every domain module. */
@Global()
@Module({})
export class CoreModule {
  static forRoot(options: CoreOptions): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: CONFIG, useValue: options.config },
        { provide: LOGGER, useValue: options.logger },
        { provide: PrismaService, useFactory: () => new PrismaService(options.databaseUrl) },
      ],
      exports: [CONFIG, LOGGER, PrismaService],
    };
  }
}
