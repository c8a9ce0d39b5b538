import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { EventBus } from '../events/event-bus';

export const RATE_WINDOW_MS = 60_000;
const PUBLISH_INTERVAL_MS = 5_000;
/** Samples are summed per (agent, rule) in slots of this length: memory and work per snapshot do not grow with the report rate. */
const SLOT_MS = 5_000;

interface RuleSum {
  agentId: string;
  ruleId: string;
  packets: number;
  bytes: number;
  lastHitMs: number;
}

interface Slot {
  startMs: number;
  rules: Map<string, RuleSum>;
}

export interface Rate {
  packetsPerSecond: number;
  bytesPerSecond: number;
}

/**
 * Live packet/byte rates from the reports of the last minute (in memory: rates are about now;
 * the buckets in PostgreSQL keep the history). Publishes them every 5 s while reports arrive.
 * The window is the last 12 five-second slots (55-60 s of reports), divided by 60 s.
 */
@Injectable()
export class ActivityRates implements OnModuleDestroy {
  private slots: Slot[] = [];
  private dirty = false;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly bus: EventBus) {
    this.timer = setInterval(() => this.publish(), PUBLISH_INTERVAL_MS);
    this.timer.unref();
  }

  add(agentId: string, rules: readonly { ruleId: string; packetsIn: number; packetsOut: number; bytesIn: number; bytesOut: number; lastHitMs: number }[], nowMs = Date.now()): void {
    const slot = this.slotAt(nowMs);
    for (const r of rules) {
      const key = `${agentId}\u0000${r.ruleId}`;
      let sum = slot.rules.get(key);
      if (!sum) slot.rules.set(key, (sum = { agentId, ruleId: r.ruleId, packets: 0, bytes: 0, lastHitMs: 0 }));
      sum.packets += r.packetsIn + r.packetsOut;
      sum.bytes += r.bytesIn + r.bytesOut;
      sum.lastHitMs = Math.max(sum.lastHitMs, r.lastHitMs);
    }
    this.dirty = true;
  }

  snapshot(nowMs = Date.now()) {
    this.expire(nowMs);
    const perSecond = (packets: number, bytes: number): Rate => ({ packetsPerSecond: packets / (RATE_WINDOW_MS / 1000), bytesPerSecond: bytes / (RATE_WINDOW_MS / 1000) });
    const agents = new Map<string, { packets: number; bytes: number }>();
    const rules = new Map<string, RuleSum>();
    let packets = 0;
    let bytes = 0;
    for (const slot of this.slots) {
      for (const [key, s] of slot.rules) {
        packets += s.packets;
        bytes += s.bytes;
        const a = agents.get(s.agentId) ?? { packets: 0, bytes: 0 };
        a.packets += s.packets;
        a.bytes += s.bytes;
        agents.set(s.agentId, a);
        const r = rules.get(key) ?? { agentId: s.agentId, ruleId: s.ruleId, packets: 0, bytes: 0, lastHitMs: 0 };
        r.packets += s.packets;
        r.bytes += s.bytes;
        r.lastHitMs = Math.max(r.lastHitMs, s.lastHitMs);
        rules.set(key, r);
      }
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

  private slotAt(nowMs: number): Slot {
    const startMs = Math.floor(nowMs / SLOT_MS) * SLOT_MS;
    const last = this.slots[this.slots.length - 1];
    if (last && last.startMs >= startMs) return last;
    this.expire(nowMs);
    const slot = { startMs, rules: new Map<string, RuleSum>() };
    this.slots.push(slot);
    return slot;
  }

  private expire(nowMs: number): void {
    const oldest = Math.floor(nowMs / SLOT_MS) * SLOT_MS - RATE_WINDOW_MS + SLOT_MS;
    while (this.slots.length > 0 && this.slots[0]!.startMs < oldest) this.slots.shift();
  }

  private publish(): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.bus.publish('activity', this.snapshot());
  }
}
