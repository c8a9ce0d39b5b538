import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Client } from 'pg';
import type { Logger } from 'pino';
import { LOGGER } from '../core.module';
import { PrismaService, type Db } from '../db/prisma.service';
import { ClusterBusError } from './cluster-bus.errors';

/** PostgreSQL's NOTIFY payload limit: shorter than 8000 bytes of UTF-8 in its default build. */
export const MAX_PAYLOAD_BYTES = 7999;
const CHANNEL_PATTERN = /^[a-z][a-z0-9_]{0,39}$/;
const CHANNEL_PREFIX = 'portfleet_';
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;

export const CLUSTER_DATABASE_URL = Symbol('CLUSTER_DATABASE_URL');

export type ClusterHandler = (payload: string) => void;

/**
 * Messages between the controller replicas that share one PostgreSQL, over LISTEN/NOTIFY.
 *
 * - `publish` sends through the Prisma pool (inside the caller's transaction when `db` is one: the
 *   message then goes out only if that transaction commits); publishes without a transaction
 *   leave in call order.
 * - Every replica listening on the channel gets the message, the publishing one included.
 * - Listening uses one dedicated connection. When it drops (PostgreSQL restarted) it reconnects
 *   with capped, jittered backoff and LISTENs again; messages sent while it was down are NOT
 *   replayed (NOTIFY has no history), so `onReconnect` handlers run after every re-LISTEN for
 *   consumers that must catch up from the database.
 * - A payload is at most 7999 bytes of UTF-8 (PostgreSQL's limit): larger ones are refused with
 *   CLUSTER_PAYLOAD_TOO_LARGE, so send ids and let receivers read the rest from the database.
 */
@Injectable()
export class ClusterBus implements OnModuleInit, OnModuleDestroy {
  private readonly handlers = new Map<string, Set<ClusterHandler>>();
  private readonly reconnectHandlers = new Set<() => void>();
  private listener: Client | null = null;
  private connecting: Promise<void> | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private closed = false;
  private lastPublish: Promise<unknown> = Promise.resolve();
  private lastListen: Promise<unknown> = Promise.resolve();

  constructor(
    @Inject(CLUSTER_DATABASE_URL) private readonly databaseUrl: string,
    private readonly db: PrismaService,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'cluster-bus' });
  }

  private readonly logger: Logger;

  async onModuleInit(): Promise<void> {
    await this.connect();
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    await this.connecting?.catch(() => undefined);
    const listener = this.listener;
    this.listener = null;
    await listener?.end().catch(() => undefined);
  }

  /** True while the listening connection is up (messages are being received). */
  get listening(): boolean {
    return this.listener !== null;
  }

  async publish(channel: string, payload: string, db?: Db): Promise<void> {
    const name = channelName(channel);
    const bytes = Buffer.byteLength(payload, 'utf8');
    if (bytes > MAX_PAYLOAD_BYTES) throw ClusterBusError.payloadTooLarge(channel, bytes);
    if (db) {
      await db.$executeRaw`SELECT pg_notify(${name}, ${payload})`;
      return;
    }
    const sent = this.lastPublish.catch(() => undefined).then(() => this.db.$executeRaw`SELECT pg_notify(${name}, ${payload})`);
    this.lastPublish = sent;
    await sent;
  }

  subscribe(channel: string, handler: ClusterHandler): void {
    const name = channelName(channel);
    let set = this.handlers.get(name);
    if (!set) {
      set = new Set();
      this.handlers.set(name, set);
      const listener = this.listener;
      if (listener) {
        // One statement at a time on the listening connection (pg does not queue concurrent queries for us).
        this.lastListen = this.lastListen
          .then(() => listener.query(`LISTEN "${name}"`))
          .catch((err: unknown) => this.logger.warn({ err, channel }, 'LISTEN failed; retried on reconnect'));
      }
    }
    set.add(handler);
  }

  /** `handler` runs after each reconnection of the listener (not after the first connection). */
  onReconnect(handler: () => void): void {
    this.reconnectHandlers.add(handler);
  }

  private connect(): Promise<void> {
    this.connecting ??= this.open().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async open(): Promise<void> {
    const client = new Client({ connectionString: this.databaseUrl, keepAlive: true });
    client.on('notification', (msg) => this.deliver(msg.channel, msg.payload ?? ''));
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      for (const name of this.handlers.keys()) await client.query(`LISTEN "${name}"`);
    } catch (err) {
      client.removeAllListeners('end');
      client.removeAllListeners('error');
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    const reconnected = this.failures > 0;
    this.failures = 0;
    this.listener = client;
    if (reconnected) {
      this.logger.info('listening again after losing the database connection');
      for (const handler of this.reconnectHandlers) this.run(handler, 'reconnect handler');
    }
  }

  private lost(client: Client, err?: Error): void {
    if (this.listener !== client) return;
    this.listener = null;
    client.removeAllListeners('notification');
    client.end().catch(() => undefined);
    if (this.closed) return;
    this.logger.warn({ err }, 'lost the listening connection; reconnecting');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    this.failures += 1;
    const cap = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** Math.min(this.failures - 1, 10));
    const delay = cap / 2 + Math.random() * (cap / 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect().catch((err: unknown) => {
        this.logger.debug({ err }, 'reconnect failed');
        this.scheduleReconnect();
      });
    }, delay);
    this.reconnectTimer.unref();
  }

  private deliver(name: string, payload: string): void {
    for (const handler of this.handlers.get(name) ?? []) this.run(() => handler(payload), 'handler');
  }

  private run(fn: () => void, what: string): void {
    try {
      fn();
    } catch (err) {
      this.logger.error({ err }, `cluster ${what} threw`);
    }
  }
}

function channelName(channel: string): string {
  if (!CHANNEL_PATTERN.test(channel)) throw ClusterBusError.badChannel(channel);
  return CHANNEL_PREFIX + channel;
}
