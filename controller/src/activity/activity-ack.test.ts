import fc from 'fast-check';
import { ControllerMessage } from '@portfleet/proto/gen/agent';
import { encodeActivityAck } from './activity-ack';

describe('encodeActivityAck', () => {
  it('writes the bytes the generated encoder writes', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })), (seq) => {
        const expected = Buffer.from(ControllerMessage.encode({ body: { $case: 'activityAck', value: { seq } } }).finish());
        expect(encodeActivityAck(seq).equals(expected)).toBe(true);
        expect(ControllerMessage.decode(encodeActivityAck(seq))).toEqual({ body: { $case: 'activityAck', value: { seq } } });
      }),
    );
  });
});
