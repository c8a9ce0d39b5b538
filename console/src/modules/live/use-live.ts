'use client';
import { useEffect, useRef } from 'react';
import { usePolled, type Polled } from '@/api/use-polled';
import { useEvents, type LiveEvent } from './events-provider';
import { refreshThrottle } from './refresh-throttle';

/** How often a view reloads when the event stream is down (and as a safety net while it is up). */
const FALLBACK_MS = 5000;
const SAFETY_MS = 30_000;
/** Bursts of events (a push to a hundred agents) reload once. */
const COALESCE_MS = 250;
/**
 * `minIntervalMs` for views of a busy fleet (presence, activity and push events arrive all the
 * time): they reload at most about once a second.
 */
export const BUSY_INTERVAL_MS = 1000;

export interface LiveOptions {
  /**
   * Reloads start at least this far apart however many events arrive (default: `COALESCE_MS`). A
   * view of a 10,000-agent fleet sees presence events all the time; it sets about a second.
   */
  minIntervalMs?: number;
  /** Whether reloading keeps the shown data until the new arrives when `deps` change (paging). */
  keepPreviousData?: boolean;
}

/**
 * Loads `load()` and loads again whenever a server-sent event of one of `types` arrives (filtered
 * by `accept`), so the view follows the fleet without a reload.
 */
export function useLive<T>(
  load: () => Promise<T>,
  types: readonly string[],
  deps: readonly unknown[] = [],
  accept: (event: LiveEvent) => boolean = () => true,
  options: LiveOptions = {},
): Polled<T> & { connected: boolean } {
  const { connected, subscribe } = useEvents();
  const polled = usePolled(load, connected ? SAFETY_MS : FALLBACK_MS, deps, options.keepPreviousData);
  const refresh = useRef(polled.refresh);
  refresh.current = polled.refresh;
  const acceptRef = useRef(accept);
  acceptRef.current = accept;
  const typeKey = types.join(',');

  const minIntervalMs = options.minIntervalMs ?? COALESCE_MS;
  useEffect(() => {
    const wanted = new Set(typeKey.split(','));
    const throttle = refreshThrottle(() => refresh.current(), minIntervalMs, COALESCE_MS);
    const unsubscribe = subscribe((event) => {
      if (wanted.has(event.type) && acceptRef.current(event)) throttle.request();
    });
    return () => {
      unsubscribe();
      throttle.cancel();
    };
  }, [subscribe, typeKey, minIntervalMs]);

  return { ...polled, connected };
}
