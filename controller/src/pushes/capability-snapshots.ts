import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Edition } from '@portfleet/proto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from 'pino';
import { AgentStreams } from '../agents/agent-streams';
import { LOGGER } from '../core.module';
import { PrismaService } from '../db/prisma.service';
import type { LicenseState } from '../licensing/license-state';
import { LicensingService, seatEdition } from '../licensing/licensing.service';
import { encodeSnapshot } from './apply-messages';

/** A signed snapshot is sent again for this long while the agent's edition and the expiry stay the same. */
export const SNAPSHOT_REUSE_MS = 60 * 60_000;
/** Online agents whose snapshot is missing or older than this are signed ahead of the next push. */
const REFRESH_AFTER_MS = 50 * 60_000;
const WARM_INTERVAL_MS = 5_000;
const WARM_CHUNK = 200;
const MAX_CACHED = 200_000;

interface Cached {
  edition: Edition;
  expiresAtMs: number | null;
  issuedAtMs: number;
  /** The CapabilitySnapshot's protobuf bytes, as every push sends them. */
  encoded: Uint8Array;
}

/**
 * The signed capability snapshot each agent receives with a rule set. Signing (Ed25519) is the
 * largest per-agent cost of a push, and a snapshot stays true until the agent's edition or the
 * license expiry changes (agents check the signature and the expiry, never the issue time), so one
 * is reused for an hour, and agents online here are signed for in the background, a chunk per
 * loop turn, so that a push to thousands of agents does not sign on its path.
 */
@Injectable()
export class CapabilitySnapshots implements OnModuleInit, OnModuleDestroy {
  private readonly cache = new Map<string, Cached>();
  private timer: NodeJS.Timeout | undefined;
  private warming = false;

  constructor(
    private readonly db: PrismaService,
    private readonly licensing: LicensingService,
    private readonly streams: AgentStreams,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.warm(), WARM_INTERVAL_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** The agent's signed snapshot, as protobuf bytes (pushes/apply-messages.ts). */
  encoded(license: LicenseState, agentId: string, edition: Edition): Uint8Array {
    const expiresAtMs = license.expiresAt?.getTime() ?? null;
    const now = Date.now();
    const hit = this.cache.get(agentId);
    if (hit && hit.edition === edition && hit.expiresAtMs === expiresAtMs && now - hit.issuedAtMs < SNAPSHOT_REUSE_MS) return hit.encoded;
    return this.sign(license, agentId, edition);
  }

  /** Signs for the online agents that have no recent snapshot. */
  async warm(): Promise<void> {
    if (this.warming) return;
    this.warming = true;
    try {
      const license = await this.licensing.state();
      if (!license.edition) return;
      const expiresAtMs = license.expiresAt?.getTime() ?? null;
      const now = Date.now();
      const due = this.streams.onlineIds().filter((id) => {
        const hit = this.cache.get(id);
        return !hit || hit.expiresAtMs !== expiresAtMs || now - hit.issuedAtMs > REFRESH_AFTER_MS;
      });
      for (let i = 0; i < due.length; i += WARM_CHUNK) {
        const rows = await this.db.agent.findMany({ where: { id: { in: due.slice(i, i + WARM_CHUNK) } }, select: { id: true, edition: true } });
        for (const row of rows) {
          const edition = seatEdition(license, row);
          if (edition) this.sign(license, row.id, edition);
        }
        await nextTurn();
      }
    } catch (err) {
      this.logger.debug({ err }, 'could not sign capability snapshots ahead');
    } finally {
      this.warming = false;
    }
  }

  private sign(license: LicenseState, agentId: string, edition: Edition): Uint8Array {
    const encoded = encodeSnapshot(this.licensing.snapshot(license, agentId, edition));
    this.cache.delete(agentId); // re-inserted last: the oldest entries go first when full
    if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(agentId, { edition, expiresAtMs: license.expiresAt?.getTime() ?? null, issuedAtMs: Date.now(), encoded });
    return encoded;
  }
}
