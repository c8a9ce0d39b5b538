'use client';
import { useEffect, useRef } from 'react';
import { usePolled, type Polled } from '@/api/use-polled';
import { useEvents, type LiveEvent } from './events-provider';

/** How often a view reloads when the event stream is down (and as a safety net while it is up). */
const FALLBACK_MS = 5000;
const SAFETY_MS = 30_000;
/** Bursts of events (a push to a hundred agents) reload once. */
const COALESCE_MS = 250;

/**
 * Loads `load()` and loads again whenever a server-sent event of one of `types` arrives (filtered
 * by `accept`), so the view follows the fleet without a reload.
 */
export function useLive<T>(
  load: () => Promise<T>,
  types: readonly string[],
  deps: readonly unknown[] = [],
  accept: (event: LiveEvent) => boolean = () => true,
): Polled<T> & { connected: boolean } {
  const { connected, subscribe } = useEvents();
  const polled = usePolled(load, connected ? SAFETY_MS : FALLBACK_MS, deps);
  const refresh = useRef(polled.refresh);
  refresh.current = polled.refresh;
  const acceptRef = useRef(accept);
  acceptRef.current = accept;
  const typeKey = types.join(',');

  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const wanted = new Set(typeKey.split(','));
    const unsubscribe = subscribe((event) => {
      if (!wanted.has(event.type) || !acceptRef.current(event)) return;
      if (timer) return;
      timer = setTimeout(() => {
        timer = null;
        void refresh.current();
      }, COALESCE_MS);
    });
    return () => {
      unsubscribe();
      if (timer) clearTimeout(timer);
    };
  }, [subscribe, typeKey]);

  return { ...polled, connected };
}
