/** The simulator's ControllerMessage decoder gives what the generated decoder gives. */
import { ControllerMessage } from '@portfleet/proto/gen/agent';
import type { RuleSetVersion } from '@portfleet/proto/gen/rules';
import { decodeControllerMessage } from '../fleet-sim/controller-messages';

describe('decodeControllerMessage', () => {
  it('reads activity acks, small and large seqs, as the generated decoder does', () => {
    for (const seq of [0, 1, 127, 128, 16_383, 16_384, 2 ** 31, 2 ** 48 - 1, 2 ** 48, Number.MAX_SAFE_INTEGER]) {
      const bytes = ControllerMessage.encode({ body: { $case: 'activityAck', value: { seq } } }).finish();
      expect(decodeControllerMessage(bytes)).toEqual(ControllerMessage.decode(bytes));
    }
  });

  it('leaves every other message, and acks with trailing or truncated bytes, to the generated decoder', () => {
    const welcome = ControllerMessage.encode({ body: { $case: 'welcome', value: { agentId: 'a', heartbeatIntervalMs: 5000, activitySeqStored: 7 } } }).finish();
    expect(decodeControllerMessage(welcome)).toEqual(ControllerMessage.decode(welcome));
    const ack = Buffer.from(ControllerMessage.encode({ body: { $case: 'activityAck', value: { seq: 300 } } }).finish());
    const heartbeat = Buffer.from(ControllerMessage.encode({ body: { $case: 'heartbeat', value: { sentAtMs: 1 } } }).finish());
    const both = Buffer.concat([ack, heartbeat]);
    expect(decodeControllerMessage(both)).toEqual(ControllerMessage.decode(both));
    expect(() => decodeControllerMessage(ack.subarray(0, ack.length - 1))).toThrow();
  });

  it('reads an apply as the generated decoder does, without its capability snapshot, sharing one decoded rule set', () => {
    const ruleSet = (version: number): RuleSetVersion => ({
      ruleSetId: '6b0d5a1e-8a51-4f5e-9f0b-3c1d2e4f5a6b', version, contentHash: 'c'.repeat(64), rules: [], settings: undefined,
    });
    const capabilities = { payload: Buffer.from('per-agent payload'), signature: Buffer.alloc(64, 7) };
    const apply = (version: number, pushId = 'push-1') => ControllerMessage.encode({ body: { $case: 'apply', value: { pushId, ruleSet: ruleSet(version), capabilities } } }).finish();
    const first = decodeControllerMessage(apply(3));
    const generated = ControllerMessage.decode(apply(3));
    expect(first).toEqual({ body: { $case: 'apply', value: { ...(generated.body as { value: object }).value, capabilities: undefined } } });
    const again = decodeControllerMessage(apply(3, 'push-2'));
    expect(again.body?.$case === 'apply' && again.body.value.pushId).toBe('push-2');
    const shared = (m: ControllerMessage) => (m.body?.$case === 'apply' ? m.body.value.ruleSet : undefined);
    expect(shared(again)).toBe(shared(first));
    expect(shared(decodeControllerMessage(apply(4)))).toEqual(ruleSet(4));
    // An apply followed by another field is left to the generated decoder.
    const heartbeat = ControllerMessage.encode({ body: { $case: 'heartbeat', value: { sentAtMs: 1 } } }).finish();
    const both = Buffer.concat([apply(3), heartbeat]);
    expect(decodeControllerMessage(both)).toEqual(ControllerMessage.decode(both));
  });
});
