import { CredentialCache } from './credential-cache';

describe('CredentialCache', () => {
  const t0 = 1_000_000;

  it('answers within its lifetime and forgets after it', () => {
    const cache = new CredentialCache<{ userId: string }>(5_000);
    cache.set('h1', { userId: 'u1' }, cache.version(), t0);
    expect(cache.get('h1', t0 + 4_999)).toEqual({ userId: 'u1' });
    expect(cache.get('h1', t0 + 5_000)).toBeUndefined();
    expect(cache.get('h1', t0)).toBeUndefined(); // expired entries are dropped, not revived
  });

  it("forgets one secret or every secret of a user at once", () => {
    const cache = new CredentialCache<{ userId: string }>(5_000);
    cache.set('a', { userId: 'u1' }, cache.version(), t0);
    cache.set('b', { userId: 'u1' }, cache.version(), t0);
    cache.set('c', { userId: 'u2' }, cache.version(), t0);
    cache.forget('c');
    expect(cache.get('c', t0)).toBeUndefined();
    cache.set('c', { userId: 'u2' }, cache.version(), t0);
    cache.forgetUser('u1');
    expect([cache.get('a', t0), cache.get('b', t0), cache.get('c', t0)]).toEqual([undefined, undefined, { userId: 'u2' }]);
  });

  it('does not store what a lookup read before a forget', () => {
    const cache = new CredentialCache<{ userId: string }>(5_000);
    const before = cache.version();
    cache.forgetUser('u1'); // e.g. the token was revoked while the lookup was reading it
    cache.set('a', { userId: 'u1' }, before, t0);
    expect(cache.get('a', t0)).toBeUndefined();
  });

  it('drops the oldest entry when full', () => {
    const cache = new CredentialCache<{ userId: string }>(5_000, 2);
    cache.set('a', { userId: 'u' }, cache.version(), t0);
    cache.set('b', { userId: 'u' }, cache.version(), t0);
    cache.set('c', { userId: 'u' }, cache.version(), t0);
    expect([cache.get('a', t0), cache.get('b', t0)?.userId, cache.get('c', t0)?.userId]).toEqual([undefined, 'u', 'u']);
  });
});
