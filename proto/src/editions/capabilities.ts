/**
 * What an agent may do, as signed by the controller (Ed25519 over canonical JSON) so the agent
 * can enforce its edition even when the controller is out of reach.
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { CapabilitySnapshot } from '../gen/portfleet/v1/rules';
import { fieldError, type FieldError, type Parsed } from '../rules/field-error';
import { canonicalJson } from '../rules/hash';
import { isRecord, ownField } from '../rules/json-object';
import { EDITION_LIST, EDITIONS, isEdition, type Edition } from './policy';

export interface Capabilities {
  agentId: string;
  edition: Edition;
  maxRules: number;
  /** null = does not expire. */
  expiresAtMs: number | null;
  issuedAtMs: number;
  watermark: boolean;
}

const KEYS: readonly (keyof Capabilities)[] = ['agentId', 'edition', 'maxRules', 'expiresAtMs', 'issuedAtMs', 'watermark'];

/** The capabilities an edition gives, with its limits taken from the SPEC §3 table. */
export function capabilitiesFor(agentId: string, edition: Edition, issuedAtMs: number, expiresAtMs: number | null): Capabilities {
  return { agentId, edition, maxRules: EDITIONS[edition].maxRules, expiresAtMs, issuedAtMs, watermark: EDITIONS[edition].watermark };
}

export function signCapabilities(capabilities: Capabilities, privateKey: KeyObject | string): CapabilitySnapshot {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  assertEd25519(key);
  const picked = Object.fromEntries(KEYS.map((k) => [k, capabilities[k]]));
  const payload = Buffer.from(canonicalJson(picked), 'utf8');
  return { payload, signature: sign(null, payload, key) };
}

/**
 * Checks the signature first (INVALID_SIGNATURE), then the shape (field errors), then expiry
 * (EXPIRED). A bad *key* is a configuration mistake and throws.
 */
export function verifyCapabilities(snapshot: CapabilitySnapshot, publicKey: KeyObject | string, nowMs: number = Date.now()): Parsed<Capabilities> {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  assertEd25519(key);
  let authentic = false;
  try {
    authentic = verify(null, snapshot.payload, key, snapshot.signature);
  } catch {
    authentic = false; // malformed signature bytes
  }
  if (!authentic) return { ok: false, errors: [fieldError('signature', 'INVALID_SIGNATURE', 'does not match the payload and the controller key')] };

  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(snapshot.payload).toString('utf8'));
  } catch {
    return { ok: false, errors: [fieldError('payload', 'INVALID_TYPE', 'is not JSON')] };
  }
  const parsed = readCapabilities(value);
  if (!parsed.ok) return parsed;
  if (parsed.value.expiresAtMs !== null && nowMs >= parsed.value.expiresAtMs) {
    return { ok: false, errors: [fieldError('expiresAtMs', 'EXPIRED', `expired at ${new Date(parsed.value.expiresAtMs).toISOString()}`)] };
  }
  return parsed;
}

function readCapabilities(value: unknown): Parsed<Capabilities> {
  if (!isRecord(value)) return { ok: false, errors: [fieldError('', 'INVALID_TYPE', 'must be an object')] };
  const errors: FieldError[] = [];
  for (const key of Object.keys(value)) {
    if (!KEYS.includes(key as keyof Capabilities)) errors.push(fieldError(key, 'UNKNOWN_FIELD', 'is not a capability'));
  }
  const field = (key: keyof Capabilities) => ownField(value, key);
  const agentId = field('agentId');
  if (typeof agentId !== 'string' || agentId === '') errors.push(fieldError('agentId', 'REQUIRED', 'must be a non-empty string'));
  if (!isEdition(field('edition'))) errors.push(fieldError('edition', 'INVALID_ENUM', `must be one of ${EDITION_LIST.join(', ')}`));
  if (!isNonNegativeInteger(field('maxRules'))) errors.push(fieldError('maxRules', 'INVALID_TYPE', 'must be an integer ≥ 0'));
  if (field('expiresAtMs') !== null && !isNonNegativeInteger(field('expiresAtMs')))
    errors.push(fieldError('expiresAtMs', 'INVALID_TYPE', 'must be a time in ms or null'));
  if (!isNonNegativeInteger(field('issuedAtMs'))) errors.push(fieldError('issuedAtMs', 'INVALID_TYPE', 'must be a time in ms'));
  if (typeof field('watermark') !== 'boolean') errors.push(fieldError('watermark', 'INVALID_TYPE', 'must be true or false'));
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: Object.fromEntries(KEYS.map((k) => [k, field(k)])) as unknown as Capabilities };
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function assertEd25519(key: KeyObject): void {
  if (key.asymmetricKeyType !== 'ed25519') throw new TypeError(`capabilities are signed with Ed25519, not ${key.asymmetricKeyType ?? key.type}`);
}
