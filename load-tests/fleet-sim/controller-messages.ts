import { readVarint } from '@portfleet/proto';
import { ControllerMessage } from '@portfleet/proto/gen/agent';
import { RuleSetVersion } from '@portfleet/proto/gen/rules';

/**
 * ControllerMessage decoding for the simulator's Connect streams, with fast paths for the two
 * messages that come by the thousand:
 * - `activityAck { seq }`, once per report (4,000 a second at the goal load): the generated decoder
 *   makes a Reader and turns the uint64 into a BigInt, a string and a Number; here the few bytes
 *   are read directly.
 * - `apply`, once per agent of a push (10,000 in a second): every agent gets the same rule set, so
 *   it is decoded once (while the bytes stay the same) and shared; the capability snapshot, which
 *   the simulator does not check, is not decoded.
 * Anything else (or a message with unusual bytes) goes to the generated decoder.
 */
export function decodeControllerMessage(bytes: Uint8Array): ControllerMessage {
  return fastAck(bytes) ?? fastApply(bytes) ?? ControllerMessage.decode(bytes);
}

/** ControllerMessage.activity_ack (field 3, length-delimited) holding ActivityAck.seq (field 1, varint). */
const ACTIVITY_ACK_TAG = 26;
const SEQ_TAG = 8;

function fastAck(bytes: Uint8Array): ControllerMessage | undefined {
  // tag, length (one byte), seq tag, a varint of at most 7 bytes (< 2^49), nothing after it.
  const n = bytes.length;
  if (n < 4 || n > 10 || bytes[0] !== ACTIVITY_ACK_TAG || bytes[1] !== n - 2 || bytes[2] !== SEQ_TAG) return undefined;
  const cursor = { pos: 3 };
  const seq = readVarint(bytes, cursor);
  return seq >= 0 && cursor.pos === n ? { body: { $case: 'activityAck', value: { seq } } } : undefined;
}

/** ControllerMessage.apply (field 2) and ApplyRuleSet's push_id (1), rule_set (2), capabilities (3), all length-delimited. */
const APPLY_TAG = 18;
const PUSH_ID_TAG = 10;
const RULE_SET_TAG = 18;
const CAPABILITIES_TAG = 26;
const utf8 = new TextDecoder();
/** The last rule set decoded, by its bytes. */
let lastRuleSet: { bytes: Buffer; value: RuleSetVersion } | undefined;

function fastApply(bytes: Uint8Array): ControllerMessage | undefined {
  if (bytes[0] !== APPLY_TAG) return undefined;
  const cursor = { pos: 1 };
  const bodyLength = readVarint(bytes, cursor);
  if (bodyLength !== bytes.length - cursor.pos) return undefined;
  let pushId = '';
  let ruleSet: RuleSetVersion | undefined;
  while (cursor.pos < bytes.length) {
    const tag = bytes[cursor.pos++]!;
    const length = readVarint(bytes, cursor);
    const start = cursor.pos;
    const end = start + length;
    if (length < 0 || end > bytes.length) return undefined;
    if (tag === PUSH_ID_TAG) pushId = utf8.decode(bytes.subarray(start, end));
    else if (tag === RULE_SET_TAG) ruleSet = sharedRuleSet(bytes.subarray(start, end));
    else if (tag !== CAPABILITIES_TAG) return undefined;
    cursor.pos = end;
  }
  return { body: { $case: 'apply', value: { pushId, ruleSet, capabilities: undefined } } };
}

function sharedRuleSet(bytes: Uint8Array): RuleSetVersion {
  if (!lastRuleSet || !lastRuleSet.bytes.equals(bytes)) lastRuleSet = { bytes: Buffer.from(bytes), value: RuleSetVersion.decode(bytes) };
  return lastRuleSet.value;
}
