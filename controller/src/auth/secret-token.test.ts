import { hashSecret, newSecret, sameHash } from './secret-token';

describe('secret tokens', () => {
  it('are long, random, prefixed and stored only as a hash', () => {
    const a = newSecret('pft_');
    const b = newSecret('pft_');
    expect(a).toMatch(/^pft_[A-Za-z0-9_-]{32}$/);
    expect(a).not.toBe(b);
    expect(hashSecret(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashSecret(a)).not.toContain(a.slice(4));
  });

  it('match only their own hash', () => {
    const a = newSecret('x');
    expect(sameHash(a, hashSecret(a))).toBe(true);
    expect(sameHash(`${a}!`, hashSecret(a))).toBe(false);
    expect(sameHash(a, 'not-hex')).toBe(false);
  });
});
