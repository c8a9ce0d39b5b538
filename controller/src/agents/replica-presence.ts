import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../core.module';
import { PrismaService } from '../db/prisma.service';

/** How often a replica says it is alive. */
export const REPLICA_HEARTBEAT_MS = 5_000;
/** A replica not seen for this long is gone (SIGKILLed, cut off): its agents show offline. */
export const REPLICA_STALE_MS = 15_000;
/** Rows of replicas gone this long are deleted (nothing points at them any more that matters). */
const REPLICA_FORGET_MS = 24 * 3600_000;

/**
 * This controller replica's identity among those sharing the database, and which replicas are
 * alive. An agent is online when the replica holding its stream (`agents.connected_replica`) is
 * alive, so a replica that dies without clearing its agents stops showing them online within
 * REPLICA_STALE_MS. Ages are measured on the database clock (no skew between replicas).
 */
@Injectable()
export class ReplicaPresence implements OnModuleInit, OnModuleDestroy {
  /** New on every start: a restarted replica's old streams are not its own. */
  readonly id = randomUUID();
  private timer?: NodeJS.Timeout;
  private readonly logger: Logger;

  constructor(
    private readonly db: PrismaService,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'replica-presence' });
  }

  async onModuleInit(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat().catch((err: unknown) => this.logger.warn({ err }, 'replica heartbeat failed')), REPLICA_HEARTBEAT_MS);
    this.timer.unref();
  }

  /** A clean stop: this replica's agents show offline at once (they reconnect elsewhere). */
  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.db.controllerReplica.deleteMany({ where: { id: this.id } }).catch(() => undefined);
  }

  /** The replicas alive now (this one always); with `heldByLive`, what online means. */
  async live(): Promise<Set<string>> {
    const rows = await this.db.$queryRaw<{ id: string }[]>`
      SELECT id::text AS id FROM controller_replicas WHERE seen_at > now() - make_interval(secs => ${REPLICA_STALE_MS / 1000})`;
    return new Set([this.id, ...rows.map((r) => r.id)]);
  }

  private async beat(): Promise<void> {
    await this.db.$executeRaw`
      INSERT INTO controller_replicas (id, seen_at) VALUES (${this.id}::uuid, now())
      ON CONFLICT (id) DO UPDATE SET seen_at = now()`;
    await this.db.$executeRaw`DELETE FROM controller_replicas WHERE seen_at < now() - make_interval(secs => ${REPLICA_FORGET_MS / 1000})`;
  }
}

/**
 * Online: the agent's stream is held by a live replica, this one or another (the same answer on
 * every replica). Read from the row alone: the Hello's write sets it with the inventory, so online
 * never shows stale adapters. (The agent list decides it in SQL by the same rule.)
 */
export function heldByLive(connectedReplica: string | null, liveReplicas: Set<string>): boolean {
  return connectedReplica !== null && liveReplicas.has(connectedReplica);
}
