import { setTimeout as sleep } from 'node:timers/promises';
import {
  checkEdition,
  DEFAULT_SETTINGS,
  parseRuleList,
  parseSettings,
  ruleErrorToWire,
  ruleSetVersionFromWire,
  type Edition,
  type FieldError,
  type Rule,
  type RuleSetVersion,
  type Settings,
} from '@portfleet/proto';
import type { Ack, ApplyRuleSet } from '@portfleet/proto/gen/agent';
import type { CapabilitySnapshot } from '@portfleet/proto/gen/rules';
import type { Logger } from 'pino';
import type { AdapterInfo, DataPlane, DataPlaneCapabilities } from '../divert/dataplane';
import { checkCapabilities } from './edition-check';
import { resolveRuleNames, type NameResolver } from './resolve-names';
import type { AppliedState, StateStore } from './state-store';

/** What the apply pipeline needs of the engine. */
export interface RuleEngine {
  apply(input: {
    rules: Rule[];
    settings: Settings;
    resolved: Map<string, string[]>;
    adapters: AdapterInfo[];
    capabilities: DataPlaneCapabilities;
  }): { ok: boolean; errors: FieldError[] };
}

export interface RuleApplierOptions {
  engine: RuleEngine;
  store: StateStore;
  plane: DataPlane;
  resolve: NameResolver;
  log: Logger;
  /** Who this agent is, for checking the capability snapshot. */
  identity: { agentId: string; controllerPublicKey?: string };
  /** Standalone: every list is held to this edition (the local serial key's or the trial), not to snapshots. */
  standaloneEdition?: Edition;
  /** Called after every successful apply (from disk at boot, or pushed). */
  onApplied?: (ruleSet: RuleSetVersion, source: ApplySource) => void;
}

/** Where a list came from: the state folder at boot, a push, or a local import. */
export type ApplySource = 'disk' | 'controller' | 'import';

/** Where the running list came from, as Hello reports it. */
export interface AppliedSummary {
  ruleSetId: string;
  version: number;
  contentHash: string;
}

/**
 * The path of a pushed rule set into the engine: validate (the shared rules), check the edition,
 * wait the apply delay, resolve DNS names, hand the list to the engine, persist it, ack. On any
 * failure the engine keeps the last good list and the ack says why, per rule and field.
 */
export class RuleApplier {
  private current: AppliedState | null = null;
  /** Pushes are applied one after another, in the order they arrived. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly stopping = new AbortController();

  constructor(private readonly options: RuleApplierOptions) {}

  get applied(): AppliedSummary | null {
    if (!this.current) return null;
    const { ruleSetId, version, contentHash } = this.current.ruleSet;
    return { ruleSetId, version, contentHash };
  }

  /**
   * Boot: runs the persisted list again (with the DNS answers it was applied with) before the
   * controller is even asked. A corrupt or no longer applicable file leaves the agent with no
   * rules, which the controller then corrects by pushing its desired version.
   */
  async restore(): Promise<boolean> {
    const { store, log } = this.options;
    const { value, quarantined } = await store.readOrQuarantine('applied');
    if (quarantined) {
      log.error(
        { event: 'state.corrupt', file: quarantined.error.file, reason: quarantined.error.reason, movedTo: quarantined.movedTo },
        'the applied rule set on disk is corrupt; starting with no rules until the controller sends one',
      );
    }
    if (!value) return false;
    const rules = parseRuleList(value.ruleSet.rules);
    const settings = parseSettings(value.ruleSet.settings);
    const snapshot = value.capabilities ? fromStoredSnapshot(value.capabilities) : undefined;
    const errors = [
      ...(rules.ok ? this.editionErrors(snapshot, rules.value) : rules.errors),
      ...(settings.ok ? [] : settings.errors),
    ];
    if (rules.ok && settings.ok && errors.length === 0) {
      const result = await this.runEngine(rules.value, settings.value, new Map(Object.entries(value.resolved)));
      if (result.ok) {
        this.current = value;
        const ruleSet = { ...value.ruleSet, rules: rules.value, settings: settings.value };
        log.info({ event: 'rules.restored', ruleSetId: ruleSet.ruleSetId, version: ruleSet.version }, 'applied the persisted rule set');
        this.options.onApplied?.(ruleSet, 'disk');
        return true;
      }
      errors.push(...result.errors);
    }
    log.error({ event: 'rules.restore_failed', version: value.ruleSet.version, errors }, 'the persisted rule set cannot be applied; starting with no rules');
    return false;
  }

  /** Applies one pushed (or imported) rule set after those before it; returns the Ack to send. */
  handle(message: ApplyRuleSet, source: Exclude<ApplySource, 'disk'> = 'controller'): Promise<Ack> {
    const next = this.queue.then(() => this.applyOne(message, source));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Abandons pushes still waiting for their apply delay. */
  stop(): void {
    this.stopping.abort();
  }

  private async applyOne(message: ApplyRuleSet, source: Exclude<ApplySource, 'disk'>): Promise<Ack> {
    const { log } = this.options;
    const wire = message.ruleSet;
    const ack = (applied: boolean, errors: FieldError[]): Ack => ({
      pushId: message.pushId,
      ruleSetId: wire?.ruleSetId ?? '',
      version: wire?.version ?? 0,
      contentHash: wire?.contentHash ?? '',
      applied,
      errors: errors.map(ruleErrorToWire),
    });
    const fail = (stage: string, errors: FieldError[]): Ack => {
      log.warn({ event: 'rules.rejected', stage, pushId: message.pushId, version: wire?.version, errors }, 'rule set not applied; keeping the last good list');
      return ack(false, errors);
    };

    if (!wire) return fail('receive', [{ field: 'ruleSet', code: 'REQUIRED', message: 'the push carried no rule set' }]);
    const parsed = ruleSetVersionFromWire(wire);
    if (!parsed.ok) return fail('validate', parsed.errors);
    const ruleSet = parsed.value;
    // An import carries no snapshot: the edition the controller last granted still holds.
    const stored = source === 'import' ? this.current?.capabilities : null;
    const snapshot = message.capabilities ?? (stored ? fromStoredSnapshot(stored) : undefined);
    const editionErrors = this.editionErrors(snapshot, ruleSet.rules);
    if (editionErrors.length > 0) return fail('edition', editionErrors);

    const running = this.current?.ruleSet;
    if (running && running.ruleSetId === ruleSet.ruleSetId && running.version === ruleSet.version && running.contentHash === ruleSet.contentHash) {
      // A re-delivery of what already runs: re-applying would only reset live conversations.
      return ack(true, []);
    }

    if (ruleSet.settings.applyDelayMs > 0) {
      try {
        await sleep(ruleSet.settings.applyDelayMs, undefined, { signal: this.stopping.signal });
      } catch {
        return fail('delay', [{ field: '', code: 'AGENT_STOPPING', message: 'the agent stopped before the apply delay ended' }]);
      }
    }

    const { resolved, errors: dnsErrors } = await resolveRuleNames(ruleSet.rules, this.options.resolve);
    if (dnsErrors.length > 0) return fail('resolve', dnsErrors);

    const result = await this.runEngine(ruleSet.rules, ruleSet.settings, resolved);
    if (!result.ok) return fail('engine', result.errors);

    const state: AppliedState = {
      pushId: message.pushId,
      ruleSet: { ...ruleSet, rules: ruleSet.rules },
      resolved: Object.fromEntries(resolved),
      capabilities: snapshot && snapshot.payload.length > 0 ? toStoredSnapshot(snapshot) : null,
      appliedAtMs: Date.now(),
    };
    try {
      await this.options.store.writeApplied(state);
    } catch (error) {
      // Not persisted means a reboot would run something else: undo rather than half-apply.
      await this.rollBack();
      return fail('persist', [{ field: '', code: 'STATE_WRITE_FAILED', message: `could not save the rule set: ${(error as Error).message}` }]);
    }
    this.current = state;
    log.info({ event: 'rules.applied', source, pushId: message.pushId, ruleSetId: ruleSet.ruleSetId, version: ruleSet.version, rules: ruleSet.rules.length }, 'rule set applied');
    this.options.onApplied?.(ruleSet, source);
    return ack(true, []);
  }

  private editionErrors(snapshot: CapabilitySnapshot | undefined, rules: readonly Rule[]): FieldError[] {
    const local = this.options.standaloneEdition;
    return local ? checkEdition(local, rules) : checkCapabilities(snapshot, rules, this.options.identity);
  }

  /**
   * Engine first (it checks everything host-specific), then the data plane's selection; if the
   * plane refuses, the engine goes back to the list it had, so both always run the same list.
   */
  private async runEngine(rules: Rule[], settings: Settings, resolved: Map<string, string[]>): Promise<{ ok: boolean; errors: FieldError[] }> {
    const { engine, plane } = this.options;
    try {
      const adapters = await plane.adapters();
      const result = engine.apply({ rules, settings, resolved, adapters, capabilities: plane.capabilities });
      if (!result.ok || !plane.select) return result;
      const errors = await plane.select({ rules, settings, resolved, adapters });
      if (errors.length === 0) return result;
      await this.restoreEngine();
      return { ok: false, errors };
    } catch (error) {
      return { ok: false, errors: [{ field: '', code: 'DATAPLANE_ERROR', message: (error as Error).message }] };
    }
  }

  /** Puts the current (last good) list back into the engine only. */
  private async restoreEngine(): Promise<void> {
    const { rules, settings, resolved } = this.currentInput();
    this.options.engine.apply({ rules, settings, resolved, adapters: await this.options.plane.adapters(), capabilities: this.options.plane.capabilities });
  }

  /** Puts the current (last good) list back into the engine and the data plane. */
  private async rollBack(): Promise<void> {
    const { rules, settings, resolved } = this.currentInput();
    await this.runEngine(rules, settings, resolved);
  }

  private currentInput(): { rules: Rule[]; settings: Settings; resolved: Map<string, string[]> } {
    const previous = this.current;
    const rules = previous ? parseRuleList(previous.ruleSet.rules) : undefined;
    const settings = parseSettings(previous?.ruleSet.settings);
    return {
      rules: rules?.ok ? rules.value : [],
      settings: settings.ok ? settings.value : DEFAULT_SETTINGS,
      resolved: new Map(Object.entries(previous?.resolved ?? {})),
    };
  }
}

function toStoredSnapshot(snapshot: CapabilitySnapshot): { payload: string; signature: string } {
  return { payload: Buffer.from(snapshot.payload).toString('base64'), signature: Buffer.from(snapshot.signature).toString('base64') };
}

export function fromStoredSnapshot(stored: { payload: string; signature: string }): CapabilitySnapshot {
  return { payload: Buffer.from(stored.payload, 'base64'), signature: Buffer.from(stored.signature, 'base64') };
}
