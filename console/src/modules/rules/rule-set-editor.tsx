'use client';
import Link from 'next/link';
import { useCallback, useEffect, useState } from 'react';
import { listAgents } from '@/api/agents';
import * as ruleSets from '@/api/rule-sets';
import type { NewRule, Rule, RuleSet } from '@/api/types';
import { useSession } from '@/modules/session/session-provider';
import { EmptyState } from '@/ui/empty-state';
import { ErrorNotice } from '@/ui/error-notice';
import { Loading } from '@/ui/loading';
import { PageHeader } from '@/ui/page-header';
import { draftFromRule, emptyDraft, withoutId } from './rule-draft';
import { RuleForm } from './rule-form';
import { RuleRow } from './rule-row';
import styles from './rule-list.module.css';

/** The walking skeleton edits one rule set: the one named `default` (created at first start). */
const RULE_SET_NAME = 'default';

async function loadDefaultRuleSet(): Promise<RuleSet | null> {
  const all = await ruleSets.listRuleSets();
  const chosen = all.find((s) => s.name === RULE_SET_NAME) ?? all[0];
  return chosen ? ruleSets.getRuleSet(chosen.id) : null;
}

/** Adapter names the fleet reported, suggested in the adapter inputs. */
async function loadAdapterNames(): Promise<string[]> {
  const agents = await listAgents();
  return [...new Set(agents.flatMap((a) => a.adapters.map((adapter) => adapter.name)))].sort();
}

export function RuleSetEditor() {
  const { canEdit } = useSession();
  const [ruleSet, setRuleSet] = useState<RuleSet | null>();
  const [loadError, setLoadError] = useState<unknown>();
  const [actionError, setActionError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  /** `new`, the id of the rule being edited, or null. */
  const [editing, setEditing] = useState<string | null>(null);
  const [adapterNames, setAdapterNames] = useState<string[]>([]);

  const load = useCallback(async () => {
    setLoadError(undefined);
    try {
      setRuleSet(await loadDefaultRuleSet());
    } catch (e) {
      setLoadError(e);
    }
  }, []);

  useEffect(() => {
    void load();
    loadAdapterNames().then(setAdapterNames, () => setAdapterNames([]));
  }, [load]);

  /**
   * Applies one change to the stored rule set. `optimistic` is shown at once (a checkbox or a
   * move answers the click immediately) and undone if the controller refuses the change.
   */
  async function run(change: (id: string) => Promise<RuleSet>, optimistic?: RuleSet) {
    if (!ruleSet) return;
    const before = ruleSet;
    if (optimistic) setRuleSet(optimistic);
    setBusy(true);
    setActionError(undefined);
    try {
      setRuleSet(await change(before.id));
    } catch (e) {
      setActionError(e);
      if (optimistic) setRuleSet(before);
    } finally {
      setBusy(false);
    }
  }

  /** Saves from the form; errors go back to the form so it can show them by field. */
  async function save(rule: NewRule) {
    if (!ruleSet) return;
    const next = editing === 'new'
      ? await ruleSets.addRule(ruleSet.id, rule)
      : await ruleSets.updateRule(ruleSet.id, editing!, rule);
    setRuleSet(next);
    setEditing(null);
  }

  function move(index: number, delta: -1 | 1) {
    if (!ruleSet) return;
    const rules = [...ruleSet.rules];
    const [moved] = rules.splice(index, 1);
    rules.splice(index + delta, 0, moved!);
    void run((id) => ruleSets.reorderRules(id, rules.map((r) => r.id)), { ...ruleSet, rules, warnings: [] });
  }

  function toggle(rule: Rule) {
    if (!ruleSet) return;
    const enabled = !rule.enabled;
    const rules = ruleSet.rules.map((r) => (r.id === rule.id ? { ...r, enabled } : r));
    void run((id) => ruleSets.updateRule(id, rule.id, { ...withoutId(rule), enabled }), { ...ruleSet, rules });
  }

  if (loadError !== undefined && !ruleSet) return <ErrorNotice error={loadError} retry={() => void load()} />;
  if (ruleSet === undefined) return <div className="card"><Loading label="Loading rules…" /></div>;
  if (ruleSet === null) {
    return <div className="card"><EmptyState title="No rule set">The controller has no rule set to edit.</EmptyState></div>;
  }

  const { rules, warnings } = ruleSet;
  const form = (title: string, initial: ReturnType<typeof emptyDraft>) => (
    <div className={styles.formSlot}>
      <RuleForm title={title} initial={initial} onSave={save} onCancel={() => setEditing(null)} adapterOptions={adapterNames} />
    </div>
  );

  return (
    <>
      <PageHeader
        title="Rules"
        subtitle={
          <>
            Rule set <strong>{ruleSet.name}</strong> · <span data-testid="rule-set-version">version {ruleSet.version}</span>
            {' · '}{rules.length} {rules.length === 1 ? 'rule' : 'rules'} · first match wins, top to bottom
          </>
        }
        actions={
          <>
            {canEdit && (
              <button type="button" className="btn btn-primary" onClick={() => setEditing('new')} disabled={editing !== null}>
                Add rule
              </button>
            )}
            <Link className="btn" href="/pushes">Push version {ruleSet.version}</Link>
          </>
        }
      />
      {actionError !== undefined && <div style={{ marginBottom: 16 }}><ErrorNotice error={actionError} /></div>}
      {warnings.length > 0 && (
        <div className="notice notice-warn" style={{ marginBottom: 16 }} role="status">
          {warnings.length} {warnings.length === 1 ? 'warning' : 'warnings'}: some rules can never match because an earlier
          rule takes their traffic (see the marked rules).
        </div>
      )}
      <div className="card">
        {rules.length === 0 && editing !== 'new' ? (
          <EmptyState
            title="No rules yet"
            action={canEdit && <button type="button" className="btn btn-primary" onClick={() => setEditing('new')}>Add the first rule</button>}
          >
            A rule selects traffic (direction, protocol, ports, addresses …) and says how to forward it.
          </EmptyState>
        ) : (
          <ol className={styles.list} aria-label="Rules">
            {rules.map((rule, index) =>
              editing === rule.id ? (
                <li key={rule.id}>{form(`Edit rule ${index + 1}`, draftFromRule(rule))}</li>
              ) : (
                <RuleRow
                  key={rule.id}
                  rule={rule}
                  index={index}
                  count={rules.length}
                  warnings={warnings.filter((w) => w.ruleId === rule.id || (!w.ruleId && w.ruleIndex === index))}
                  busy={busy || editing !== null}
                  canEdit={canEdit}
                  onToggle={() => toggle(rule)}
                  onMove={(delta) => move(index, delta)}
                  onEdit={() => setEditing(rule.id)}
                  onDelete={() => void run((id) => ruleSets.deleteRule(id, rule.id))}
                />
              ),
            )}
            {editing === 'new' && <li>{form('New rule', emptyDraft())}</li>}
          </ol>
        )}
      </div>
    </>
  );
}
