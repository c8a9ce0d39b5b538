/**
 * Remembers what a bearer secret (API token or session cookie, by its hash) resolved to for a few
 * seconds, so a burst of requests costs one database lookup instead of one each. Entries carry
 * their user so a change to that user (revocation, role or password change, deletion) forgets
 * them at once in this process; another controller replica notices within `ttlMs`.
 */
export class CredentialCache<T extends { userId: string }> {
  private readonly entries = new Map<string, { value: T; until: number }>();
  /** Bumped by every forget: a lookup that began before one must not store what it read. */
  private generation = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  get(secretHash: string, now = Date.now()): T | undefined {
    const entry = this.entries.get(secretHash);
    if (!entry) return undefined;
    if (entry.until > now) return entry.value;
    this.entries.delete(secretHash);
    return undefined;
  }

  /** Take before reading the database; pass to `set`. */
  version(): number {
    return this.generation;
  }

  /** Stores what a lookup begun at `version` found, unless something was forgotten meanwhile. */
  set(secretHash: string, value: T, version: number, now = Date.now()): void {
    if (version !== this.generation) return;
    // Map keeps insertion order: the first key is the oldest entry.
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(secretHash, { value, until: now + this.ttlMs });
  }

  forget(secretHash: string): void {
    this.generation++;
    this.entries.delete(secretHash);
  }

  forgetUser(userId: string): void {
    this.generation++;
    for (const [key, entry] of this.entries) if (entry.value.userId === userId) this.entries.delete(key);
  }
}
