import type { ActivityTotal, Rule } from '@/api/types';
import { formatBytes, formatCount } from '@/format/bytes';
import { formatAgo } from '@/format/time';
import { summarizeRule } from '@/modules/rules/summarize-rule';
import { ActivityLed } from './activity-led';

/** Per-rule packets and bytes (both directions) an agent reported, named after its rules when known. */
export function RuleActivityTable({ totals, rules }: { totals: ActivityTotal[]; rules: Rule[] }) {
  const byId = new Map(rules.map((rule, index) => [rule.id, { rule, index }]));
  return (
    <div className="table-wrap">
      <table className="table" aria-label="Rule activity">
        <thead>
          <tr>
            <th aria-label="Active" />
            <th>Rule</th>
            <th className="num">Packets in</th>
            <th className="num">Packets out</th>
            <th className="num">Bytes in</th>
            <th className="num">Bytes out</th>
            <th className="num">Conversations</th>
            <th>Last packet</th>
          </tr>
        </thead>
        <tbody>
          {totals.map((t) => {
            const known = byId.get(t.ruleId);
            return (
              <tr key={t.ruleId}>
                <td><ActivityLed lastHitAt={t.lastHitAt} /></td>
                <td>
                  {known ? (
                    <>
                      <div>#{known.index + 1} {known.rule.description || <span className="muted">(no description)</span>}</div>
                      <div className="hint mono">{summarizeRule(known.rule)}</div>
                    </>
                  ) : (
                    <span className="mono muted">{t.ruleId}</span>
                  )}
                </td>
                <td className="num">{formatCount(t.packetsIn)}</td>
                <td className="num">{formatCount(t.packetsOut)}</td>
                <td className="num">{formatBytes(t.bytesIn)}</td>
                <td className="num">{formatBytes(t.bytesOut)}</td>
                <td className="num">{formatCount(t.conversations)}</td>
                <td className="nowrap">{formatAgo(t.lastHitAt)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
