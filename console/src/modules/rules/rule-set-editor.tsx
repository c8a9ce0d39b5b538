'use client';
import Link from 'next/link';
import { useCallback, useEffect, useState } from 'react';
import { listAdapterNames } from '@/api/agents';
import * as ruleSets from '@/api/rule-sets';
import type { NewRule, Rule, RuleSet, RuleSetSummary } from '@/api/types';
import { useLicense } from '@/modules/license/license-provider';
import { useSession } from '@/modules/session/session-provider';
import { EmptyState } from '@/ui/empty-state';
import { ErrorNotice } from '@/ui/error-notice';
import { Loading } from '@/ui/loading';
import { PageHeader } from '@/ui/page-header';
import { gatesFor } from './edition-gates';
import { ImportExport } from './import-export';
import { draftFromRule, emptyDraft, withoutId } from './rule-draft';
import { RuleForm } from './rule-form';
import { RuleRow } from './rule-row';
import { RuleSetPicker } from './rule-set-picker';
import { SettingsForm } from './settings-form';
import { shadowMessage } from './shadow-message';
import { VersionHistory } from './version-history';
import styles from './rule-list.module.css';

/** `rules` with the rule at `from` moved to `to`. */
function moved(rules: Rule[], from: number, to: number): Rule[] {
  const next = [...rules];
  const [rule] = next.splice(from, 1);
  next.splice(to, 0, rule!);
  return next;
}

export function RuleSetEditor({ id }: { id: string }) {
  const { canEdit } = useSession();
  const { license } = useLicense();
  const [ruleSet, setRuleSet] = useState<RuleSet | null>();
  const [sets, setSets] = useState<RuleSetSummary[]>([]);
  const [loadError, setLoadError] = useState<unknown>();
  const [actionError, setActionError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  /** `new`, the id of the rule being edited, or null. */
  const [editing, setEditing] = useState<string | null>(null);
  const [adapterNames, setAdapterNames] = useState<string[]>([]);
  const [dragFrom, setDragFrom] = useState<number | null>(null);
  const [dragOver, setDragOver] = useState<number | null>(null);
  /** The rule whose reorder handle keeps the keyboard focus after a move. */
  const [focusRule, setFocusRule] = useState<string | null>(null);
  const [panel, setPanel] = useState<'history' | 'settings' | null>(null);

  const load = useCallback(async () => {
    setLoadError(undefined);
    try {
      const [set, all] = await Promise.all([ruleSets.getRuleSet(id), ruleSets.listRuleSets()]);
      setRuleSet(set);
      setSets(all);
    } catch (e) {
      setLoadError(e);
    }
  }, [id]);

  useEffect(() => {
    void load();
    listAdapterNames().then(setAdapterNames, () => setAdapterNames([]));
  }, [load]);

  useEffect(() => {
    if (!focusRule) return;
    document.querySelector<HTMLElement>(`[data-rule-id="${focusRule}"] [data-handle]`)?.focus();
  }, [focusRule, ruleSet]);

  /** Keeps the picker's version numbers in step with what was just saved. */
  function show(next: RuleSet) {
    setRuleSet(next);
    setSets((all) => all.map((s) => (s.id === next.id ? { ...s, latestVersion: next.version } : s)));
  }

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
      show(await change(before.id));
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
    show(next);
    setEditing(null);
  }

  function moveTo(from: number, to: number) {
    if (!ruleSet || from === to || to < 0 || to >= ruleSet.rules.length) return;
    const rules = moved(ruleSet.rules, from, to);
    setFocusRule(null);
    void run((rsId) => ruleSets.reorderRules(rsId, rules.map((r) => r.id)), { ...ruleSet, rules, warnings: [] });
  }

  function toggle(rule: Rule) {
    if (!ruleSet) return;
    const enabled = !rule.enabled;
    const rules = ruleSet.rules.map((r) => (r.id === rule.id ? { ...r, enabled } : r));
    void run((rsId) => ruleSets.updateRule(rsId, rule.id, { ...withoutId(rule), enabled }), { ...ruleSet, rules });
  }

  if (loadError !== undefined && !ruleSet) return <ErrorNotice error={loadError} retry={() => void load()} />;
  if (ruleSet === undefined) return <div className="card"><Loading label="Loading rules…" /></div>;
  if (ruleSet === null) return <div className="card"><EmptyState title="No rule set">This rule set does not exist.</EmptyState></div>;

  const { rules, warnings } = ruleSet;
  const gate = gatesFor(license?.edition ?? null, license?.limits ?? null, license?.editions);
  const maxRules = license?.limits?.maxRules;
  const atLimit = maxRules !== undefined && rules.length >= maxRules;
  const limitReason = atLimit && license?.edition
    ? `The ${license.edition[0]!.toUpperCase()}${license.edition.slice(1)} edition allows ${maxRules} rules per host, enabled or not`
    : null;
  const form = (title: string, initial: ReturnType<typeof emptyDraft>) => (
    <div className={styles.formSlot}>
      <RuleForm title={title} initial={initial} onSave={save} onCancel={() => setEditing(null)} adapterOptions={adapterNames} gate={gate} />
    </div>
  );
  const addButton = (label: string, primary = true) => (
    <button type="button" className={primary ? 'btn btn-primary' : 'btn'} onClick={() => setEditing('new')}
      disabled={editing !== null || atLimit} title={limitReason ?? undefined}>
      {label}
    </button>
  );

  return (
    <>
      <PageHeader
        title="Rules"
        subtitle={
          <>
            Rule set <strong data-testid="rule-set-name">{ruleSet.name}</strong> · <span data-testid="rule-set-version">version {ruleSet.version}</span>
            {' · '}{rules.length}{maxRules !== undefined ? ` of ${maxRules}` : ''} {rules.length === 1 ? 'rule' : 'rules'} · first match wins, top to bottom
          </>
        }
        actions={
          <>
            {canEdit && addButton('Add rule')}
            <Link className="btn" href={`/pushes/new?ruleSet=${ruleSet.id}`}>Push version {ruleSet.version}</Link>
          </>
        }
      />
      <div className={styles.toolbar} style={{ justifyContent: 'space-between', marginBottom: 12 }}>
        <RuleSetPicker sets={sets} current={ruleSet.id} canEdit={canEdit} />
        <div className={styles.toolbar}>
          <button type="button" className="btn btn-small" aria-pressed={panel === 'history'} onClick={() => setPanel(panel === 'history' ? null : 'history')}>History</button>
          <button type="button" className="btn btn-small" aria-pressed={panel === 'settings'} onClick={() => setPanel(panel === 'settings' ? null : 'settings')}>Settings</button>
          <ImportExport ruleSet={ruleSet} canEdit={canEdit} onImported={show} />
        </div>
      </div>
      {limitReason && canEdit && <div className="notice notice-warn" role="status" data-testid="rule-limit" style={{ marginBottom: 12 }}>{limitReason}: delete a rule or activate a larger edition to add more.</div>}
      {actionError !== undefined && <div style={{ marginBottom: 16 }}><ErrorNotice error={actionError} /></div>}
      {warnings.length > 0 && (
        <div className="notice notice-warn" style={{ marginBottom: 16 }} role="status">
          {warnings.length} {warnings.length === 1 ? 'warning' : 'warnings'}: some rules can never match because an earlier
          rule takes their traffic (see the marked rules).
        </div>
      )}
      <p id="reorder-help" className="visually-hidden">Drag the rule, or focus its number and press the up or down arrow key to move it.</p>
      <div className="card">
        {rules.length === 0 && editing !== 'new' ? (
          <EmptyState title="No rules yet" action={canEdit && addButton('Add the first rule')}>
            A rule selects traffic (direction, protocol, ports, addresses …) and says how to forward it.
          </EmptyState>
        ) : (
          <ol className={styles.list} aria-label="Rules" onDragLeave={() => setDragOver(null)}>
            {rules.map((rule, index) => {
              if (editing === rule.id) return <li key={rule.id}>{form(`Edit rule ${index + 1}`, draftFromRule(rule))}</li>;
              const mine = warnings.filter((w) => w.ruleId === rule.id || (!w.ruleId && w.ruleIndex === index));
              return (
                <RuleRow
                  key={rule.id}
                  rule={rule}
                  index={index}
                  count={rules.length}
                  warnings={mine}
                  messages={mine.map((w) => shadowMessage({ ...w, ruleIndex: index }, rules))}
                  busy={busy || editing !== null}
                  canEdit={canEdit}
                  onToggle={() => toggle(rule)}
                  onMove={(delta) => { moveTo(index, index + delta); setFocusRule(rule.id); }}
                  onEdit={() => setEditing(rule.id)}
                  onDelete={() => void run((rsId) => ruleSets.deleteRule(rsId, rule.id))}
                  drag={{
                    dragging: dragFrom === index,
                    over: dragOver === index && dragFrom !== null && dragFrom !== index,
                    onStart: () => setDragFrom(index),
                    onOver: () => setDragOver(index),
                    onDrop: () => { if (dragFrom !== null) moveTo(dragFrom, index); setDragFrom(null); setDragOver(null); },
                    onEnd: () => { setDragFrom(null); setDragOver(null); },
                  }}
                />
              );
            })}
            {editing === 'new' && <li>{form('New rule', emptyDraft())}</li>}
          </ol>
        )}
      </div>
      {panel === 'history' && <VersionHistory ruleSetId={ruleSet.id} latest={ruleSet.version} />}
      {panel === 'settings' && <SettingsForm key={ruleSet.version} ruleSet={ruleSet} canEdit={canEdit} onSaved={show} />}
    </>
  );
}
