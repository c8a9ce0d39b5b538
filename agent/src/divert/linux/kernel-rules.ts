/**
 * `KernelRules`: the rules the kernel runs as conntrack NAT (kernel-rules-nft.ts says which and
 * how), their table replaced by one spawned `nft -f -` per apply (apply time, not the packet
 * path), and their counters read over netlink every `pollMs` and folded into the engine's
 * per-rule counters, so activity reports look as they do for the userspace path.
 */
import type { Rule } from '@portfleet/proto';
import { KernelRuleCounters } from './kernel-rules-counters';
import { runNft } from './nft-command';
import { type CompiledRule, compiledRules, counterNames, DEFAULT_CT_MARK_BASE, deleteRulesTableScript, rulesScript, type Timeouts } from './kernel-rules-nft';

/** Where kernel-counted traffic goes (the engine). */
export interface RuleTrafficSink {
  addRuleTraffic(ruleId: string, outbound: boolean, packets: number, bytes: number, conversations: number, nowMs: number): boolean;
}

export interface KernelRulesOptions {
  pollMs?: number;
  ctMarkBase?: number;
}

/** What a counter of the table stands for. */
interface CounterMeaning {
  slot: number;
  kind: 'created' | 'original' | 'reply';
}

const MAX_SLOT = 0xffff;
const KERNEL_RULES = 'the kernel rules';

export class KernelRules {
  private readonly pollMs: number;
  private readonly ctMarkBase: number;
  /** Slot per rule id, for the plane's life (a conversation keeps its rule's slot in its ct mark). */
  private readonly slotOf = new Map<string, number>();
  /** Per slot: the rule id and whether its first packets are outbound (as last compiled). */
  private readonly slotRule = new Map<number, { ruleId: string; outbound: boolean }>();
  private readonly meaning = new Map<string, CounterMeaning>();
  /** Last value read per counter name: [packets, bytes]. */
  private readonly last = new Map<string, [number, number]>();
  private counters: KernelRuleCounters | undefined;
  private timer: NodeJS.Timeout | undefined;
  private applied = false;
  readonly stats = { compiled: 0, applyFailures: 0, reads: 0, readFailures: 0 };

  constructor(
    options: KernelRulesOptions,
    private readonly sink: RuleTrafficSink,
  ) {
    this.pollMs = options.pollMs ?? 1000;
    this.ctMarkBase = options.ctMarkBase ?? DEFAULT_CT_MARK_BASE;
  }

  /** Removes what an earlier run left. */
  async cleanStale(): Promise<void> {
    await runNft(deleteRulesTableScript(), KERNEL_RULES);
  }

  start(): void {
    this.counters = new KernelRuleCounters();
    this.timer = setInterval(() => this.readCounted(), this.pollMs);
    this.timer.unref();
  }

  /**
   * Compiles what can be compiled of `rules` into the kernel (one transaction); returns the
   * indexes it took. If nft refuses, nothing is compiled (every rule keeps the userspace path).
   */
  async apply(rules: Rule[], resolved: ReadonlyMap<string, string[]>, timeouts: Timeouts): Promise<Set<number>> {
    const indexes = compiledRules(rules, resolved);
    const compiled: CompiledRule[] = [];
    for (const i of indexes) {
      const rule = rules[i]!;
      const slot = this.slotFor(rule.id);
      if (slot < 0) {
        indexes.delete(i);
        continue;
      }
      this.slotRule.set(slot, { ruleId: rule.id, outbound: rule.selector.direction === 'outbound' });
      compiled.push({ rule, slot });
    }
    // Counts so far belong to the rules as they were.
    this.readCounted();
    try {
      await runNft(rulesScript(compiled, [...this.slotOf.values()], resolved, this.ctMarkBase, timeouts), KERNEL_RULES);
    } catch (error) {
      this.stats.applyFailures++;
      // Nothing compiled; the counters stay, for conversations still under an earlier table's NAT.
      await runNft(rulesScript([], [...this.slotOf.values()], resolved, this.ctMarkBase, timeouts), KERNEL_RULES).then(
        () => (this.applied = true),
        () => undefined,
      );
      this.stats.compiled = 0;
      throw error;
    }
    this.applied = true;
    this.stats.compiled = compiled.length;
    return indexes;
  }

  private slotFor(ruleId: string): number {
    let slot = this.slotOf.get(ruleId);
    if (slot !== undefined) return slot;
    slot = this.slotOf.size + 1;
    if (slot > MAX_SLOT) return -1;
    this.slotOf.set(ruleId, slot);
    const names = counterNames(slot);
    this.meaning.set(names.created, { slot, kind: 'created' });
    this.meaning.set(names.original, { slot, kind: 'original' });
    this.meaning.set(names.reply, { slot, kind: 'reply' });
    return slot;
  }

  /** `read`, a failure counted (the next read catches up: counters only grow). */
  private readCounted(): void {
    try {
      this.read();
    } catch {
      this.stats.readFailures++;
    }
  }

  /** Reads every counter and hands its growth to the sink. */
  read(): void {
    if (!this.counters || !this.applied) return;
    const now = Date.now();
    this.stats.reads++;
    this.counters.read((name, packets, bytes) => {
      const m = this.meaning.get(name);
      if (!m) return;
      const before = this.last.get(name) ?? [0, 0];
      // A counter made again (never expected: `add counter` keeps one) starts from zero.
      const dp = packets >= before[0] ? packets - before[0] : packets;
      const db = bytes >= before[1] ? bytes - before[1] : bytes;
      if (dp === 0 && db === 0) return;
      this.last.set(name, [packets, bytes]);
      const rule = this.slotRule.get(m.slot)!;
      if (m.kind === 'created') this.sink.addRuleTraffic(rule.ruleId, rule.outbound, 0, 0, dp, now);
      else this.sink.addRuleTraffic(rule.ruleId, m.kind === 'original' ? rule.outbound : !rule.outbound, dp, db, 0, now);
    });
  }

  /** Last read, then the table goes (conntrack's bindings of open connections stay, unused). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    try {
      this.readCounted();
    } finally {
      this.counters?.close();
      this.counters = undefined;
      this.applied = false;
      await runNft(deleteRulesTableScript(), KERNEL_RULES);
    }
  }
}
