'use client';
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';

/** One server-sent event as the controller names it (`presence`, `push`, `activity` …). */
export interface LiveEvent {
  type: string;
  data: unknown;
}

type Listener = (event: LiveEvent) => void;

interface EventsValue {
  /** True while the stream is open; views poll slowly while it is not. */
  connected: boolean;
  subscribe: (listener: Listener) => () => void;
}

const EventsContext = createContext<EventsValue | null>(null);

/** Event names the console listens for on `GET /api/events` (docs/http-api.md). */
export const EVENT_TYPES = ['presence', 'agent', 'push', 'activity', 'ruleSet', 'license', 'message'] as const;

/**
 * One EventSource for the whole app (the browser allows few connections per origin); every view
 * subscribes here. EventSource reconnects by itself after a drop.
 */
export function EventsProvider({ children }: { children: ReactNode }) {
  const listeners = useRef(new Set<Listener>());
  const [connected, setConnected] = useState(false);

  useEffect(() => {
    const source = new EventSource('/api/events', { withCredentials: true });
    const dispatch = (type: string) => (message: MessageEvent) => {
      let data: unknown = message.data;
      try {
        data = JSON.parse(String(message.data));
      } catch {
        // plain text data stays as it is
      }
      const typed = type === 'message' && data && typeof data === 'object' && 'type' in data ? String((data as { type: unknown }).type) : type;
      for (const listener of listeners.current) listener({ type: typed, data });
    };
    for (const type of EVENT_TYPES) source.addEventListener(type, dispatch(type) as EventListener);
    source.onopen = () => setConnected(true);
    source.onerror = () => setConnected(source.readyState === EventSource.OPEN);
    return () => source.close();
  }, []);

  const subscribe = useCallback((listener: Listener) => {
    listeners.current.add(listener);
    return () => void listeners.current.delete(listener);
  }, []);
  const value = useMemo(() => ({ connected, subscribe }), [connected, subscribe]);
  return <EventsContext.Provider value={value}>{children}</EventsContext.Provider>;
}

export function useEvents(): EventsValue {
  const value = useContext(EventsContext);
  if (!value) throw new Error('useEvents outside <EventsProvider>');
  return value;
}
