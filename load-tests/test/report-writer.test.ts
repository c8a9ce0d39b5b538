/** The simulator's hand-written activity report bytes are the generated encoder's bytes. */
import { AgentMessage } from '@portfleet/proto/gen/agent';
import { ReportWriter } from '../fleet-sim/report-writer';

describe('ReportWriter', () => {
  it('writes the same bytes as the generated encoder, zeros, large values and non-ASCII ids included', () => {
    const values = [0, 1, 127, 128, 300, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 5, 1_764_000_000_000, Number.MAX_SAFE_INTEGER];
    const w = new ReportWriter();
    for (let round = 0; round < 50; round++) {
      const pick = (i: number) => values[(round * 7 + i * 3) % values.length]!;
      const rules = Array.from({ length: round % 6 }, (_, k) => ({
        ruleId: k === 2 ? '' : k === 3 ? `règle-${round}` : `rule-${k}-${round}`,
        packetsIn: pick(k),
        bytesIn: pick(k + 1),
        packetsOut: pick(k + 2),
        bytesOut: pick(k + 3),
        conversationsActive: pick(k + 4) % 2 ** 32,
        conversationsNew: pick(k + 5),
        lastHitMs: pick(k + 6),
      }));
      const report = { seq: pick(0) || 1, periodStartMs: pick(1), periodEndMs: pick(2), rules };
      w.begin(report.seq, report.periodStartMs, report.periodEndMs);
      for (const r of rules) w.rule(Buffer.from(r.ruleId), r.packetsIn, r.bytesIn, r.packetsOut, r.bytesOut, r.conversationsActive, r.conversationsNew, r.lastHitMs);
      const frame = w.finish();
      expect(frame[0]).toBe(0);
      expect(frame.readUInt32BE(1)).toBe(frame.length - 5);
      const bytes = frame.subarray(5);
      expect(bytes.toString('hex')).toBe(Buffer.from(AgentMessage.encode({ body: { $case: 'activity', value: report } }).finish()).toString('hex'));
      expect(AgentMessage.decode(bytes)).toEqual({ body: { $case: 'activity', value: report } });
    }
  });
});
