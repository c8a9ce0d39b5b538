import fc from 'fast-check';
import { AgentMessage, type ActivityReport } from '@portfleet/proto/gen/agent';
import { decodeAgentMessage } from './activity-wire';

const counter = fc.oneof(fc.nat(1000), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
const ruleArb = fc.record({
  ruleId: fc.string({ maxLength: 40 }),
  packetsIn: counter,
  bytesIn: counter,
  packetsOut: counter,
  bytesOut: counter,
  conversationsActive: fc.integer({ min: 0, max: 0xffff_ffff }),
  conversationsNew: counter,
  lastHitMs: counter,
});
const reportArb: fc.Arbitrary<ActivityReport> = fc.record({ seq: counter, periodStartMs: counter, periodEndMs: counter, rules: fc.array(ruleArb, { maxLength: 60 }) });
const encode = (m: AgentMessage) => AgentMessage.encode(m).finish();

/** What the generated decoder makes of the bytes: its message, or its error. */
function generated(bytes: Uint8Array): unknown {
  try {
    return AgentMessage.decode(bytes);
  } catch (e) {
    return { error: (e as Error).message };
  }
}
function fast(bytes: Uint8Array): unknown {
  try {
    return decodeAgentMessage(bytes);
  } catch (e) {
    return { error: (e as Error).message };
  }
}

describe('decodeAgentMessage', () => {
  it('decodes activity reports exactly as the generated decoder does', () => {
    fc.assert(
      fc.property(reportArb, (report) => {
        const bytes = encode({ body: { $case: 'activity', value: report } });
        expect(decodeAgentMessage(bytes)).toEqual(AgentMessage.decode(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it('reads a Buffer (what grpc-js hands over) and other bodies through the generated decoder', () => {
    const activity = encode({ body: { $case: 'activity', value: { seq: 7, periodStartMs: 1, periodEndMs: 2, rules: [{ ruleId: 'r', packetsIn: 3, bytesIn: 4, packetsOut: 5, bytesOut: 6, conversationsActive: 7, conversationsNew: 8, lastHitMs: 9 }] } } });
    expect(decodeAgentMessage(Buffer.from(activity))).toEqual(AgentMessage.decode(activity));
    const heartbeat = encode({ body: { $case: 'heartbeat', value: { sentAtMs: 5 } } });
    expect(decodeAgentMessage(heartbeat)).toEqual({ body: { $case: 'heartbeat', value: { sentAtMs: 5 } } });
  });

  it('leaves whatever it does not expect to the generated decoder: same message or same error', () => {
    const base = encode({ body: { $case: 'activity', value: { seq: 1, periodStartMs: 2, periodEndMs: 3, rules: [{ ruleId: 'r1', packetsIn: 1, bytesIn: 2, packetsOut: 3, bytesOut: 4, conversationsActive: 5, conversationsNew: 6, lastHitMs: 7 }] } } });
    const cases: Uint8Array[] = [
      // Values beyond 2^53 and a negative int64 (10-byte varints).
      encode({ body: { $case: 'activity', value: { seq: 1, periodStartMs: -5, periodEndMs: 3, rules: [] } } }),
      Uint8Array.from([26, 11, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
      // Two bodies (the last wins), a truncated message, an unknown field inside a rule.
      Uint8Array.from([...base, ...encode({ body: { $case: 'heartbeat', value: { sentAtMs: 1 } } })]),
      base.subarray(0, base.length - 3),
      Uint8Array.from([26, 6, 34, 4, 0x58, 1, 16, 2]),
    ];
    for (const bytes of cases) expect(fast(bytes)).toEqual(generated(bytes));
    // Random corruption of a real report.
    fc.assert(
      fc.property(reportArb, fc.nat(), fc.nat(255), (report, at, value) => {
        const bytes = Uint8Array.from(encode({ body: { $case: 'activity', value: report } }));
        bytes[at % bytes.length] = value;
        expect(fast(bytes)).toEqual(generated(bytes));
      }),
      { numRuns: 500 },
    );
  });
});
