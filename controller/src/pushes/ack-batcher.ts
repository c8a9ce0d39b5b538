import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { FieldError } from '@portfleet/proto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'pg';
import type { Logger } from 'pino';
import { agentRowsInIdOrder } from '../agents/agent-row-order';
import { Batcher } from '../agents/batcher';
import { retryTransientConflict } from '../db/transient-conflict';
import { LOGGER } from '../core.module';
import { PrismaService } from '../db/prisma.service';
import { Prisma } from '../generated/prisma/client';
import { ValidationError } from '../errors/domain-error';
import { isUuid } from '../errors/request-fields';
import { finishedTarget, finishOutcomes, type FinishedRow, type FinishedTarget, type TargetOutcome } from './push-outcomes';
import { PushError } from './pushes.errors';

export interface AckInput {
  pushId: string;
  ruleSetId: string;
  version: number;
  contentHash: string;
  applied: boolean;
  errors: FieldError[];
}

/** What one ack changed once its batch committed. */
export interface AckResult {
  /** The push target it finished, if it was still waiting for this answer. */
  finished: FinishedTarget | null;
  /** The agent's applied version was set to the acked one. */
  appliedVersion: boolean;
}

interface Taken {
  agentId: string;
  ack: AckInput;
}

/** A batch is written after this long or at this many acks, whichever comes first. */
export const ACK_BATCH_MS = 10;
export const ACK_BATCH_SIZE = 500;
/** Batches written at once (one collects while another is written), each on its own connection. */
const IN_FLIGHT = 2;
const MAX_VERSION = 2 ** 31 - 1;
/** A rule set's content hash (sha256, hex): anything else an agent sends is not a version it runs. */
const CONTENT_HASH = /^[0-9a-f]{64}$/;

/**
 * Agents' answers to pushes, written in batches: one statement per batch (one round trip, so a
 * busy event loop delays it by one turn, not one per statement of an interactive transaction)
 * that updates push_targets and agents, whatever the number of acks. The batches have their own
 * two node-postgres connections (as the activity writer has): during a push the Prisma pool is busy
 * marking targets delivered, relaying live events and answering the push call, and acks must not
 * queue behind that, nor pay Prisma's per-row mapping. An ack is taken only when its batch
 * committed: `take` resolves then, and rejects when the batch failed (the caller fails the
 * agent's stream, so the agent reconnects and its Hello reports what it applied).
 */
@Injectable()
export class AckBatcher implements OnModuleInit, OnModuleDestroy {
  private readonly batcher = new Batcher<Taken, AckResult>((batch) => this.write(batch), {
    maxItems: ACK_BATCH_SIZE,
    maxDelayMs: ACK_BATCH_MS,
    maxInFlight: IN_FLIGHT,
    failed: (err, acks) => {
      this.logger.warn({ err, acks }, 'ack batch not stored; its streams end with UNAVAILABLE');
      return PushError.ackUnstored();
    },
  });
  private readonly pool: Pool;

  constructor(
    db: PrismaService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    // Kept open (no idle timeout) and opened at start: a connection opened when a push's acks
    // arrive needs several round trips while the loop is busy sending (the first batches took 2 s).
    this.pool = new Pool({ connectionString: db.databaseUrl, max: IN_FLIGHT, idleTimeoutMillis: 0, connectionTimeoutMillis: 10_000, query_timeout: 30_000 });
    // A backend killed while a connection is idle (PostgreSQL restarting) must not crash the process.
    this.pool.on('error', (err) => logger.warn({ err }, 'ack batcher: idle connection lost'));
    this.pool.on('connect', (client) => client.on('error', (err) => logger.debug({ err }, 'ack batcher: connection error')));
  }

  async onModuleInit(): Promise<void> {
    try {
      const clients = await Promise.all(Array.from({ length: IN_FLIGHT }, () => this.pool.connect()));
      for (const client of clients) client.release();
    } catch (err) {
      this.logger.warn({ err }, 'ack batcher: could not open its connections yet (opened on the first acks)');
    }
  }

  async onModuleDestroy(): Promise<void> {
    // Batches still running fail their streams; the agents' next Hellos report what they applied.
    await Promise.race([this.pool.end(), sleep(1_000)]);
  }

  /** Rejects at once (ValidationError naming the field) an answer that could not be stored. */
  take(agentId: string, ack: AckInput): Promise<AckResult> {
    checkAck(ack);
    return this.batcher.add({ agentId, ack });
  }

  private async write(batch: Taken[]): Promise<AckResult[]> {
    const started = Date.now();
    const outcomes: TargetOutcome[] = batch
      .filter((w) => isUuid(w.ack.pushId))
      .map((w) => ({ pushId: w.ack.pushId, agentId: w.agentId, applied: w.ack.applied, errors: w.ack.errors }));
    // One applied version per agent: the newest ack wins.
    const versions = new Map<string, AckInput>();
    for (const w of batch) {
      const a = w.ack;
      if (a.applied && isUuid(a.ruleSetId) && Number.isInteger(a.version) && a.version >= 1 && a.version <= MAX_VERSION && CONTENT_HASH.test(a.contentHash)) versions.set(w.agentId, a);
    }
    const ids = [...versions.keys()];
    const applied = JSON.stringify(ids.map((id) => {
      const a = versions.get(id)!;
      return { id, rule_set_id: a.ruleSetId, version: a.version, hash: a.contentHash };
    }));
    // Targets first, then agents rows in id order (as every writer of both takes them).
    const statement = Prisma.sql`
      WITH finished AS (${finishOutcomes(outcomes)}),
      applied AS (
        UPDATE agents a
           SET applied_rule_set_id = v.rule_set_id, applied_version = v.version, applied_content_hash = v.hash, last_seen_at = now()
          FROM json_to_recordset(${applied}::json) AS v(id uuid, rule_set_id uuid, version int, hash text)
         WHERE a.id = v.id AND a.id IN (${agentRowsInIdOrder(ids)}) AND EXISTS (SELECT 1 FROM rule_sets r WHERE r.id = v.rule_set_id)
        RETURNING a.id)
      SELECT 'target' AS kind, push_id, agent_id, state, delivered_at FROM finished
      UNION ALL
      SELECT 'agent', NULL, id, NULL, NULL FROM applied`;
    // One statement: a deadlock (acks and a catch-up finishing the same targets) rolled it back whole.
    const { rows } = await retryTransientConflict(
      () => this.pool.query<FinishedRow & { kind: 'target' | 'agent' }>(statement.text, statement.values),
      ({ sqlState, attempt, waitMs }) => this.logger.warn({ sqlState, attempt, waitMs, acks: batch.length }, 'ack batch lost a lock race; writing it again'),
    );
    this.logger.debug({ acks: batch.length, ms: Date.now() - started }, 'acks written');
    const finished = rows.filter((r) => r.kind === 'target').map(finishedTarget);
    const updated = new Set(rows.filter((r) => r.kind === 'agent').map((r) => r.agent_id));
    const byTarget = new Map(finished.map((f) => [`${f.pushId}/${f.agentId}`, f]));
    return batch.map((w) => {
      const key = `${w.ack.pushId}/${w.agentId}`;
      const finishedHere = byTarget.get(key) ?? null;
      byTarget.delete(key); // a duplicate ack in the same batch finished nothing
      return { finished: finishedHere, appliedVersion: updated.has(w.agentId) && versions.get(w.agentId) === w.ack };
    });
  }
}

/**
 * Checked before an answer joins a batch: one unstorable value would fail the whole batch (every
 * agent's answers in it). PostgreSQL stores no NUL in text or jsonb; the agent's error texts are
 * the only free text of an answer (an odd content hash only keeps the version from being taken).
 */
function checkAck(ack: AckInput): void {
  ack.errors.forEach((e, i) => {
    for (const key of ['field', 'code', 'message', 'ruleId'] as const) {
      if (e[key]?.includes('\u0000')) throw new ValidationError(`ack.errors[${i}].${key}`, 'INVALID_TEXT', 'must not contain NUL characters');
    }
  });
}
