import { Injectable } from '@nestjs/common';

export type LiveEventType = 'agent' | 'push' | 'activity' | 'license';

export interface LiveEvent {
  type: LiveEventType;
  data: unknown;
}

export type LiveEventListener = (event: LiveEvent) => void;

/**
 * What happened, for whoever watches live (SSE for the console, WatchEvents for automation).
 * In-process and best effort: a listener that throws is dropped, never the publisher.
 */
@Injectable()
export class EventBus {
  private readonly listeners = new Set<LiveEventListener>();

  publish(type: LiveEventType, data: unknown): void {
    for (const listener of this.listeners) {
      try {
        listener({ type, data });
      } catch {
        this.listeners.delete(listener);
      }
    }
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: LiveEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  listenerCount(): number {
    return this.listeners.size;
  }
}
