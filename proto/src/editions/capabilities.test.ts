import fc from 'fast-check';
import { generateKeyPairSync, sign } from 'node:crypto';
import { CapabilitySnapshot } from '../gen/portfleet/v1/rules';
import { canonicalJson } from '../rules/hash';
import { capabilitiesFor, signCapabilities, verifyCapabilities, type Capabilities } from './capabilities';
import { EDITION_LIST } from './policy';

const controller = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');
const issuedAtMs = Date.UTC(2026, 10, 25, 10);
const caps: Capabilities = capabilitiesFor('agent-1', 'pro', issuedAtMs, issuedAtMs + 86_400_000);
const codes = (r: ReturnType<typeof verifyCapabilities>) => (r.ok ? [] : r.errors.map((e) => [e.field, e.code]));
/** A snapshot signed properly over a payload of our choosing (a controller bug, not an attacker). */
const signedPayload = (value: unknown) => {
  const payload = Buffer.from(JSON.stringify(value));
  return { payload, signature: sign(null, payload, controller.privateKey) };
};

describe('capabilities', () => {
  it('fills limits from the edition table', () => {
    expect(capabilitiesFor('a', 'basic', 1, null)).toEqual({ agentId: 'a', edition: 'basic', maxRules: 3, expiresAtMs: null, issuedAtMs: 1, watermark: true });
    expect(capabilitiesFor('a', 'ultimate', 1, null)).toMatchObject({ maxRules: 50, watermark: false });
  });

  it('signs canonical JSON that verifies with the public key, also as PEM and after protobuf encoding', () => {
    const snapshot = signCapabilities(caps, controller.privateKey);
    expect(snapshot.payload.toString('utf8')).toBe(canonicalJson(caps));
    expect(verifyCapabilities(snapshot, controller.publicKey, issuedAtMs)).toEqual({ ok: true, value: caps });
    const pem = signCapabilities(caps, controller.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    const decoded = CapabilitySnapshot.decode(CapabilitySnapshot.encode(pem).finish());
    expect(verifyCapabilities(decoded, controller.publicKey.export({ type: 'spki', format: 'pem' }).toString(), issuedAtMs)).toEqual({ ok: true, value: caps });
  });

  it('rejects a changed payload, a changed signature and another key', () => {
    const snapshot = signCapabilities(caps, controller.privateKey);
    const upgraded = Buffer.from(snapshot.payload.toString().replace('"pro"', '"ultimate"'));
    expect(codes(verifyCapabilities({ ...snapshot, payload: upgraded }, controller.publicKey, issuedAtMs))).toEqual([['signature', 'INVALID_SIGNATURE']]);
    fc.assert(
      fc.property(fc.nat(snapshot.signature.length - 1), fc.integer({ min: 1, max: 255 }), (at, flip) => {
        const signature = Buffer.from(snapshot.signature);
        signature[at]! ^= flip;
        return codes(verifyCapabilities({ ...snapshot, signature }, controller.publicKey, issuedAtMs))[0]![1] === 'INVALID_SIGNATURE';
      }),
      { numRuns: 50 },
    );
    expect(codes(verifyCapabilities({ ...snapshot, signature: Buffer.alloc(3) }, controller.publicKey, issuedAtMs))).toEqual([['signature', 'INVALID_SIGNATURE']]);
    expect(codes(verifyCapabilities(snapshot, other.publicKey, issuedAtMs))).toEqual([['signature', 'INVALID_SIGNATURE']]);
  });

  it('reports expiry at and after expiresAtMs; null never expires', () => {
    const snapshot = signCapabilities(caps, controller.privateKey);
    expect(verifyCapabilities(snapshot, controller.publicKey, caps.expiresAtMs! - 1).ok).toBe(true);
    expect(codes(verifyCapabilities(snapshot, controller.publicKey, caps.expiresAtMs!))).toEqual([['expiresAtMs', 'EXPIRED']]);
    const forever = signCapabilities({ ...caps, expiresAtMs: null }, controller.privateKey);
    expect(verifyCapabilities(forever, controller.publicKey, Number.MAX_SAFE_INTEGER).ok).toBe(true);
  });

  it('reports a signed payload of the wrong shape field by field', () => {
    expect(codes(verifyCapabilities(signedPayload({ ...caps, edition: 'gold', maxRules: -1, watermark: 'no', extra: 1 }), controller.publicKey, issuedAtMs))).toEqual([
      ['extra', 'UNKNOWN_FIELD'],
      ['edition', 'INVALID_ENUM'],
      ['maxRules', 'INVALID_TYPE'],
      ['watermark', 'INVALID_TYPE'],
    ]);
    expect(codes(verifyCapabilities(signedPayload([]), controller.publicKey, issuedAtMs))).toEqual([['', 'INVALID_TYPE']]);
    const notJson = Buffer.from('{');
    expect(codes(verifyCapabilities({ payload: notJson, signature: sign(null, notJson, controller.privateKey) }, controller.publicKey))).toEqual([['payload', 'INVALID_TYPE']]);
  });

  it('refuses keys that are not Ed25519', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(() => signCapabilities(caps, rsa.privateKey)).toThrow(/Ed25519/);
    expect(() => verifyCapabilities(signCapabilities(caps, controller.privateKey), rsa.publicKey)).toThrow(/Ed25519/);
  });

  it('round-trips every edition', () => {
    for (const edition of EDITION_LIST) {
      const c = capabilitiesFor(`agent-${edition}`, edition, issuedAtMs, null);
      expect(verifyCapabilities(signCapabilities(c, controller.privateKey), controller.publicKey)).toEqual({ ok: true, value: c });
    }
  });
});
