import { DEFAULT_SETTINGS, type Rule } from '@portfleet/proto';
import { buildPacket } from '../packet/build';
import { PacketBatch, PacketFlag, Verdict } from './batch';
import { Engine } from './engine';

const caps = { kind: 'memory', layer2: true, reflection: true, adapters: true, clone: true };
const rule = (over: Partial<Rule>): Rule => ({
  id: 'r1',
  enabled: true,
  activityMonitoring: true,
  selector: { direction: 'inbound', protocol: 'tcp' },
  forwardAs: {},
  ...over,
});

describe('Engine with a simple port rule', () => {
  it('forwards inbound TCP 80 to 8080 and turns the replies back into 80', () => {
    const engine = new Engine();
    const result = engine.apply({
      rules: [rule({ selector: { direction: 'inbound', protocol: 'tcp', localPort: 80 }, forwardAs: { localPort: 8080 } })],
      settings: DEFAULT_SETTINGS,
      resolved: new Map(),
      adapters: [],
      capabilities: caps,
    });
    expect(result).toEqual({ ok: true, errors: [] });
    const batch = new PacketBatch(8);
    const emitted = new PacketBatch(8);
    batch.push(buildPacket({ protocol: 'tcp', src: '198.18.0.2', dst: '198.18.0.1', srcPort: 40000, dstPort: 80 }), 0, 1);
    engine.process(batch, emitted, 1000);
    expect(batch.verdict[0]).toBe(Verdict.AcceptModified);
    expect(batch.bytes(0)).toEqual(buildPacket({ protocol: 'tcp', src: '198.18.0.2', dst: '198.18.0.1', srcPort: 40000, dstPort: 8080 }));
    batch.clear();
    batch.push(
      buildPacket({ protocol: 'tcp', src: '198.18.0.1', dst: '198.18.0.2', srcPort: 8080, dstPort: 40000, tcpFlags: 0x12 }),
      PacketFlag.Outbound,
      1,
    );
    engine.process(batch, emitted, 1001);
    expect(batch.verdict[0]).toBe(Verdict.AcceptModified);
    expect(batch.bytes(0)).toEqual(
      buildPacket({ protocol: 'tcp', src: '198.18.0.1', dst: '198.18.0.2', srcPort: 80, dstPort: 40000, tcpFlags: 0x12 }),
    );
    expect(engine.counters()).toEqual([
      expect.objectContaining({ ruleId: 'r1', packetsIn: 1, packetsOut: 1, conversationsActive: 1, conversationsTotal: 1, lastHitMs: 1001 }),
    ]);
  });
});
