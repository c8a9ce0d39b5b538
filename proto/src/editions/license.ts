/**
 * Serial keys (SPEC §3): an Ed25519 signature by the vendor over a small JSON payload, so the
 * controller and a standalone agent can check a key offline. Text form:
 * `PF1-<base64url payload>.<base64url signature>`; the signature covers the payload bytes exactly
 * as they travel, so nothing is re-serialised before checking.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { fieldError, type FieldError, type Parsed } from '../rules/field-error';
import { canonicalJson } from '../rules/hash';
import { isRecord, ownField } from '../rules/json-object';
import { EDITION_LIST, isEdition, type Edition } from './policy';

export interface License {
  serial: string;
  edition: Edition;
  /** How many agents may run this edition at once. */
  seats: number;
  issuedTo: string;
  issuedAtMs: number;
  /** null = does not expire. */
  expiresAtMs: number | null;
}

export const LICENSE_KEY_PREFIX = 'PF1-';

const KEYS: readonly (keyof License)[] = ['serial', 'edition', 'seats', 'issuedTo', 'issuedAtMs', 'expiresAtMs'];
const MAX_ISSUED_TO = 200;
const MAX_KEY_LENGTH = 4_096;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const ED25519_SIGNATURE_BYTES = 64;

/** Signs a license; only the vendor CLI (and tests) hold a private key. */
export function issueLicenseKey(license: License, privateKey: KeyObject | string): string {
  const checked = readLicense(license);
  if (!checked.ok) throw new TypeError(`not a valid license: ${checked.errors.map((e) => `${e.field} ${e.message}`).join('; ')}`);
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  assertEd25519(key);
  const payload = Buffer.from(canonicalJson(checked.value), 'utf8');
  return `${LICENSE_KEY_PREFIX}${payload.toString('base64url')}.${sign(null, payload, key).toString('base64url')}`;
}

/**
 * The license a key grants, if the key is well formed (INVALID_LICENSE_FORMAT), signed by the
 * holder of `publicKey` (INVALID_SIGNATURE) and not expired at `nowMs` (LICENSE_EXPIRED). Errors
 * name the field `licenseKey` (or `licenseKey.<payload field>`). A bad *public key* is a
 * configuration mistake and throws.
 */
export function verifyLicenseKey(text: string, publicKey: KeyObject | string, nowMs: number = Date.now()): Parsed<License> {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  assertEd25519(key);
  const split = splitKey(text);
  if (!split.ok) return split;
  const { payload, signature } = split.value;

  let authentic = false;
  try {
    authentic = verify(null, payload, key, signature);
  } catch {
    authentic = false;
  }
  if (!authentic) return { ok: false, errors: [fieldError('licenseKey', 'INVALID_SIGNATURE', 'is not signed by the Portfleet vendor key (forged or altered)')] };

  const parsed = decodeLicensePayload(payload);
  if (!parsed.ok) return parsed;
  if (parsed.value.expiresAtMs !== null && nowMs >= parsed.value.expiresAtMs) {
    return { ok: false, errors: [fieldError('licenseKey.expiresAtMs', 'LICENSE_EXPIRED', `expired at ${new Date(parsed.value.expiresAtMs).toISOString()}`)] };
  }
  return parsed;
}

/** The payload of a key without checking its signature: for `inspect`, never for granting anything. */
export function readLicenseKeyUnverified(text: string): Parsed<License> {
  const split = splitKey(text);
  return split.ok ? decodeLicensePayload(split.value.payload) : split;
}

/** A fresh vendor key pair in PEM (SPKI public, PKCS#8 private). */
export function generateLicenseKeyPair(): { publicKeyPem: string; privateKeyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** A serial number for a new key: `PF-` and 16 random hex digits in groups of four. */
export function newLicenseSerial(): string {
  return `PF-${(randomBytes(8).toString('hex').toUpperCase().match(/.{4}/g) ?? []).join('-')}`;
}

function splitKey(text: string): Parsed<{ payload: Buffer; signature: Buffer }> {
  const format = (message: string): Parsed<never> => ({ ok: false, errors: [fieldError('licenseKey', 'INVALID_LICENSE_FORMAT', message)] });
  if (typeof text !== 'string') return format('must be a string');
  const trimmed = text.trim();
  if (trimmed.length > MAX_KEY_LENGTH) return format(`is longer than ${MAX_KEY_LENGTH} characters`);
  if (!trimmed.startsWith(LICENSE_KEY_PREFIX)) return format(`must start with ${LICENSE_KEY_PREFIX}`);
  const parts = trimmed.slice(LICENSE_KEY_PREFIX.length).split('.');
  if (parts.length !== 2 || !parts.every((p) => BASE64URL.test(p))) return format(`must be ${LICENSE_KEY_PREFIX}<payload>.<signature> in base64url`);
  const signature = Buffer.from(parts[1]!, 'base64url');
  if (signature.length !== ED25519_SIGNATURE_BYTES) return format(`the signature must be ${ED25519_SIGNATURE_BYTES} bytes (the key is truncated)`);
  return { ok: true, value: { payload: Buffer.from(parts[0]!, 'base64url'), signature } };
}

function decodeLicensePayload(payload: Buffer): Parsed<License> {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    return { ok: false, errors: [fieldError('licenseKey', 'INVALID_LICENSE_FORMAT', 'the payload is not JSON')] };
  }
  const parsed = readLicense(value);
  if (parsed.ok) return parsed;
  return { ok: false, errors: parsed.errors.map((e) => ({ ...e, field: `licenseKey.${e.field}` })) };
}

function readLicense(value: unknown): Parsed<License> {
  if (!isRecord(value)) return { ok: false, errors: [fieldError('', 'INVALID_LICENSE_FORMAT', 'the payload must be an object')] };
  const errors: FieldError[] = [];
  for (const key of Object.keys(value)) {
    if (!KEYS.includes(key as keyof License)) errors.push(fieldError(key, 'UNKNOWN_FIELD', 'is not a license field'));
  }
  const field = (key: keyof License) => ownField(value, key);
  const serial = field('serial');
  if (typeof serial !== 'string' || serial === '' || serial.length > 64) errors.push(fieldError('serial', 'REQUIRED', 'must be a string of 1-64 characters'));
  if (!isEdition(field('edition'))) errors.push(fieldError('edition', 'INVALID_ENUM', `must be one of ${EDITION_LIST.join(', ')}`));
  const seats = field('seats');
  if (typeof seats !== 'number' || !Number.isSafeInteger(seats) || seats < 1) errors.push(fieldError('seats', 'INVALID_TYPE', 'must be an integer ≥ 1'));
  const issuedTo = field('issuedTo');
  if (typeof issuedTo !== 'string' || issuedTo.trim() === '' || issuedTo.length > MAX_ISSUED_TO) {
    errors.push(fieldError('issuedTo', 'REQUIRED', `must be a non-empty string of at most ${MAX_ISSUED_TO} characters`));
  }
  const issuedAtMs = field('issuedAtMs');
  if (!isTime(issuedAtMs)) errors.push(fieldError('issuedAtMs', 'INVALID_TYPE', 'must be a time in ms'));
  const expiresAtMs = field('expiresAtMs');
  if (expiresAtMs !== null && !isTime(expiresAtMs)) errors.push(fieldError('expiresAtMs', 'INVALID_TYPE', 'must be a time in ms or null'));
  else if (isTime(expiresAtMs) && isTime(issuedAtMs) && expiresAtMs <= issuedAtMs) errors.push(fieldError('expiresAtMs', 'OUT_OF_RANGE', 'must be after issuedAtMs'));
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: Object.fromEntries(KEYS.map((k) => [k, field(k)])) as unknown as License };
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function assertEd25519(key: KeyObject): void {
  if (key.asymmetricKeyType !== 'ed25519') throw new TypeError(`license keys are signed with Ed25519, not ${key.asymmetricKeyType ?? key.type}`);
}
