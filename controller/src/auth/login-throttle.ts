import { Injectable } from '@nestjs/common';
import { AuthError } from './auth.errors';

export const MAX_FAILED_LOGINS = 5;
export const LOGIN_WINDOW_MS = 15 * 60_000;

/**
 * Failed logins per (username, address) within a sliding window: the sixth try inside 15 minutes
 * is refused before the password is even checked. In memory: a restart forgets, which is fine
 * for slowing down guessing.
 */
@Injectable()
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  /** Throws TOO_MANY_ATTEMPTS (with the seconds to wait) when the key is over the limit. */
  check(username: string, address: string, nowMs = Date.now()): void {
    const recent = this.recent(key(username, address), nowMs);
    if (recent.length < MAX_FAILED_LOGINS) return;
    const err = AuthError.tooManyAttempts();
    err.retryAfterS = Math.max(1, Math.ceil((recent[0]! + LOGIN_WINDOW_MS - nowMs) / 1000));
    throw err;
  }

  failed(username: string, address: string, nowMs = Date.now()): void {
    const k = key(username, address);
    this.failures.set(k, [...this.recent(k, nowMs), nowMs]);
    if (this.failures.size > 10_000) this.prune(nowMs);
  }

  succeeded(username: string, address: string): void {
    this.failures.delete(key(username, address));
  }

  private recent(k: string, nowMs: number): number[] {
    return (this.failures.get(k) ?? []).filter((t) => t > nowMs - LOGIN_WINDOW_MS);
  }

  private prune(nowMs: number): void {
    for (const [k, times] of this.failures) if (!times.some((t) => t > nowMs - LOGIN_WINDOW_MS)) this.failures.delete(k);
  }
}

function key(username: string, address: string): string {
  return `${username.toLowerCase()}\u0000${address}`;
}
