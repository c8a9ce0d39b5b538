import { ControllerMessage } from '@portfleet/proto/gen/agent';
import type { RuleSetVersion } from '@portfleet/proto/gen/rules';
import { ApplyMessages, encodeSnapshot } from './apply-messages';

const ruleSet: RuleSetVersion = { ruleSetId: '6b0d5a1e-8a51-4f5e-9f0b-3c1d2e4f5a6b', version: 7, contentHash: 'a'.repeat(64), rules: [], settings: undefined };

describe('ApplyMessages', () => {
  it('encodes what ControllerMessage.encode of the whole message decodes to, for small and large snapshots', () => {
    const messages = new ApplyMessages('0f8c2a77-1f5e-4a8b-9a3c-5d6e7f809142', ruleSet);
    // 300 bytes of signature: the snapshot's and the body's lengths take two-byte varints.
    for (const signature of [Buffer.alloc(0), Buffer.alloc(64, 7), Buffer.alloc(300, 9)]) {
      const capabilities = { payload: Buffer.alloc(40, 1), signature };
      const bytes = messages.for(encodeSnapshot(capabilities));
      const whole = ControllerMessage.encode({ body: { $case: 'apply', value: { pushId: '0f8c2a77-1f5e-4a8b-9a3c-5d6e7f809142', ruleSet, capabilities } } }).finish();
      expect(ControllerMessage.decode(bytes)).toEqual(ControllerMessage.decode(whole));
      expect(bytes.length).toBe(whole.length);
    }
  });
});
