/** The simulator's ControllerMessage decoder gives what the generated decoder gives. */
import { ControllerMessage } from '@portfleet/proto/gen/agent';
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
});
