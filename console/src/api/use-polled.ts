'use client';
import { useCallback, useEffect, useRef, useState } from 'react';

export interface Polled<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  refresh: () => Promise<void>;
}

/**
 * Loads `load()` now and every `intervalMs` while the page is open (SSE replaces this later).
 * A failed poll keeps the last data and reports the error; the next success clears it.
 * `intervalMs` null stops polling (e.g. once a push has finished). `keepPrevious`: when `deps`
 * change, the last data stays shown until the new arrives (a table turning pages does not blink).
 */
export function usePolled<T>(load: () => Promise<T>, intervalMs: number | null, deps: readonly unknown[] = [], keepPrevious = false): Polled<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(true);
  const loadRef = useRef(load);
  loadRef.current = load;
  const generation = useRef(0);

  const refresh = useCallback(async () => {
    const mine = generation.current;
    try {
      const value = await loadRef.current();
      if (mine !== generation.current) return;
      setData(value);
      setError(undefined);
    } catch (e) {
      if (mine !== generation.current) return;
      setError(e);
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, []);

  useEffect(() => {
    generation.current += 1;
    setLoading(true);
    if (!keepPrevious) setData(undefined);
    void refresh();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);

  useEffect(() => {
    if (intervalMs === null) return;
    let timer: ReturnType<typeof setTimeout>;
    let stopped = false;
    const tick = async () => {
      await refresh();
      if (!stopped) timer = setTimeout(tick, intervalMs);
    };
    timer = setTimeout(tick, intervalMs);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [intervalMs, refresh]);

  return { data, error, loading, refresh };
}
