import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { EventBus } from '../events/event-bus';

export const RATE_WINDOW_MS = 60_000;
const PUBLISH_INTERVAL_MS = 5_000;

interface Sample {
  atMs: number;
  agentId: string;
  ruleId: string;
  packets: number;
  bytes: number;
  lastHitMs: number;
}

export interface Rate {
  packetsPerSecond: number;
  bytesPerSecond: number;
}

/**
 * Live packet/byte rates from the reports of the last minute (in memory: rates are about now;
 * the buckets in PostgreSQL keep the history). Publishes them every 5 s while reports arrive.
 */
@Injectable()
export class ActivityRates implements OnModuleDestroy {
  private samples: Sample[] = [];
  private dirty = false;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly bus: EventBus) {
    this.timer = setInterval(() => this.publish(), PUBLISH_INTERVAL_MS);
    this.timer.unref();
  }

  add(agentId: string, rules: readonly { ruleId: string; packetsIn: number; packetsOut: number; bytesIn: number; bytesOut: number; lastHitMs: number }[], nowMs = Date.now()): void {
    for (const r of rules) {
      this.samples.push({ atMs: nowMs, agentId, ruleId: r.ruleId, packets: r.packetsIn + r.packetsOut, bytes: r.bytesIn + r.bytesOut, lastHitMs: r.lastHitMs });
    }
    this.dirty = true;
  }

  snapshot(nowMs = Date.now()) {
    this.samples = this.samples.filter((s) => s.atMs > nowMs - RATE_WINDOW_MS);
    const perSecond = (packets: number, bytes: number): Rate => ({ packetsPerSecond: packets / (RATE_WINDOW_MS / 1000), bytesPerSecond: bytes / (RATE_WINDOW_MS / 1000) });
    const agents = new Map<string, { packets: number; bytes: number }>();
    const rules = new Map<string, { agentId: string; ruleId: string; packets: number; bytes: number; lastHitMs: number }>();
    let packets = 0;
    let bytes = 0;
    for (const s of this.samples) {
      packets += s.packets;
      bytes += s.bytes;
      const a = agents.get(s.agentId) ?? { packets: 0, bytes: 0 };
      a.packets += s.packets;
      a.bytes += s.bytes;
      agents.set(s.agentId, a);
      const key = `${s.agentId}/${s.ruleId}`;
      const r = rules.get(key) ?? { agentId: s.agentId, ruleId: s.ruleId, packets: 0, bytes: 0, lastHitMs: 0 };
      r.packets += s.packets;
      r.bytes += s.bytes;
      r.lastHitMs = Math.max(r.lastHitMs, s.lastHitMs);
      rules.set(key, r);
    }
    return {
      windowSeconds: RATE_WINDOW_MS / 1000,
      fleet: perSecond(packets, bytes),
      agents: [...agents].map(([agentId, a]) => ({ agentId, ...perSecond(a.packets, a.bytes) })),
      rules: [...rules.values()].map((r) => ({ agentId: r.agentId, ruleId: r.ruleId, ...perSecond(r.packets, r.bytes), lastHitAt: r.lastHitMs > 0 ? new Date(r.lastHitMs).toISOString() : null })),
    };
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  private publish(): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.bus.publish('activity', this.snapshot());
  }
}
