import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { ClusterBus } from '../cluster/cluster-bus';
import { LOGGER } from '../core.module';
import { ClusterRelay } from './cluster-relay';

export type LiveEventType = 'agent' | 'push' | 'activity' | 'license';

export interface LiveEvent {
  type: LiveEventType;
  data: unknown;
}

export type LiveEventListener = (event: LiveEvent) => void;

const CHANNEL = 'live_events';

/**
 * What happened, for whoever watches live (SSE for the console, WatchEvents for automation), on
 * every replica: an event is delivered to this replica's listeners at once and relayed to the
 * others over the ClusterBus (batched per turn of the event loop). Best effort: a listener that
 * throws is dropped, never the publisher; events published while PostgreSQL is unreachable reach
 * only this replica's listeners.
 */
@Injectable()
export class EventBus implements OnModuleInit {
  private readonly listeners = new Set<LiveEventListener>();
  /** The listeners that are someone watching (SSE, WatchEvents), not the controller's own reactions. */
  private readonly watchers = new Set<LiveEventListener>();
  private readonly relay = new ClusterRelay(randomUUID());
  private outbox: LiveEvent[] = [];
  private relayFailing = false;
  private readonly logger: Logger;

  constructor(
    private readonly cluster: ClusterBus,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'event-bus' });
  }

  onModuleInit(): void {
    this.cluster.subscribe(CHANNEL, (payload) => {
      let events: LiveEvent[];
      try {
        events = this.relay.decode(payload);
      } catch (err) {
        this.logger.warn({ err }, 'unreadable live event from another replica');
        return;
      }
      for (const event of events) this.deliver(event);
    });
  }

  publish(type: LiveEventType, data: unknown): void {
    const event = { type, data };
    this.deliver(event);
    if (this.outbox.push(event) === 1) setImmediate(() => this.relayOutbox());
  }

  /** To this replica's listeners only: for events every replica computes alike (not relayed, so not repeated). */
  publishLocal(type: LiveEventType, data: unknown): void {
    this.deliver({ type, data });
  }

  /**
   * Returns the unsubscribe function. `internal`: the controller reacting to its own events (it
   * does not count as someone watching, so events computed only for watchers are not computed for it).
   */
  subscribe(listener: LiveEventListener, { internal = false } = {}): () => void {
    this.listeners.add(listener);
    if (!internal) this.watchers.add(listener);
    return () => {
      this.listeners.delete(listener);
      this.watchers.delete(listener);
    };
  }

  /** How many watch this replica's live events (the activity rates are published only for them). */
  watcherCount(): number {
    return this.watchers.size;
  }

  private deliver(event: LiveEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        this.listeners.delete(listener);
        this.watchers.delete(listener);
      }
    }
  }

  private relayOutbox(): void {
    const events = this.outbox;
    this.outbox = [];
    for (const message of this.relay.encode(events)) {
      this.cluster.publish(CHANNEL, message).then(
        () => {
          this.relayFailing = false;
        },
        (err: unknown) => {
          // Once per outage: every event fails the same way while PostgreSQL is away.
          if (!this.relayFailing) this.logger.warn({ err: String(err) }, 'live events not relayed to the other replicas');
          this.relayFailing = true;
        },
      );
    }
  }
}
