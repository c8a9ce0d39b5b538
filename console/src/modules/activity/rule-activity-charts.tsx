'use client';
import { activitySeries } from '@/api/activity';
import type { ActivityTotal, Rule } from '@/api/types';
import { useLive } from '@/modules/live/use-live';
import { summarizeRule } from '@/modules/rules/summarize-rule';
import { ErrorNotice } from '@/ui/error-notice';
import { ActivityLed } from './activity-led';
import { Sparkline } from './sparkline';
import styles from './charts.module.css';

/** The last hour of one rule on one agent, packets and bytes per minute, both directions. */
function RuleCharts({ agentId, ruleId, title, lastHitAt }: { agentId: string; ruleId: string; title: React.ReactNode; lastHitAt: string | null }) {
  const series = useLive(() => activitySeries({ scope: 'rule', ruleId, agentId }), ['activity'], [agentId, ruleId]);
  const points = series.data?.points ?? [];
  return (
    <div className={styles.ruleCharts} data-rule-id={ruleId} data-testid="rule-charts">
      <div className={styles.ruleName}><ActivityLed lastHitAt={lastHitAt} /> {title}</div>
      {series.error !== undefined && !series.data ? <div style={{ gridColumn: 'span 2' }}><ErrorNotice error={series.error} /></div> : (
        <>
          <Sparkline label="Packets / min" unit="packets" points={points.map((p) => ({ t: p.t, value: p.packetsIn + p.packetsOut }))} />
          <Sparkline label="Bytes / min" unit="bytes" points={points.map((p) => ({ t: p.t, value: p.bytesIn + p.bytesOut }))} />
        </>
      )}
    </div>
  );
}

/** A chart pair per rule the agent runs (or reported activity for). */
export function RuleActivityCharts({ agentId, rules, totals }: { agentId: string; rules: Rule[]; totals: ActivityTotal[] }) {
  const last = new Map(totals.map((t) => [t.ruleId, t.lastHitAt]));
  const ids = [...rules.map((r) => r.id), ...totals.map((t) => t.ruleId).filter((id) => !rules.some((r) => r.id === id))];
  return (
    <div aria-label="Rule activity charts">
      {ids.map((ruleId) => {
        const index = rules.findIndex((r) => r.id === ruleId);
        const rule = rules[index];
        const title = rule ? (
          <>
            <strong>#{index + 1} {rule.description || '(no description)'}</strong>
            <div className="hint mono">{summarizeRule(rule)}</div>
          </>
        ) : <span className="mono muted">{ruleId}</span>;
        return <RuleCharts key={ruleId} agentId={agentId} ruleId={ruleId} title={title} lastHitAt={last.get(ruleId) ?? null} />;
      })}
    </div>
  );
}
