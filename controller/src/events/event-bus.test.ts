import pino from 'pino';
import type { ClusterBus } from '../cluster/cluster-bus';
import { EventBus, type LiveEvent } from './event-bus';

// Delivery to this replica's listeners only (publishLocal): the ClusterBus is never reached.
const bus = () => new EventBus({} as ClusterBus, pino({ level: 'silent' }));

describe('EventBus watchers', () => {
  it('counts watchers, not the controller reacting to its own events', () => {
    const b = bus();
    const internal: LiveEvent[] = [];
    const watched: LiveEvent[] = [];
    b.subscribe((e) => internal.push(e), { internal: true });
    expect(b.watcherCount()).toBe(0);
    const unwatch = b.subscribe((e) => watched.push(e));
    expect(b.watcherCount()).toBe(1);
    b.publishLocal('license', { edition: 'pro' });
    expect([internal.length, watched.length]).toEqual([1, 1]);
    unwatch();
    expect(b.watcherCount()).toBe(0);
    b.publishLocal('license', { edition: 'basic' });
    expect([internal.length, watched.length]).toEqual([2, 1]);
  });

  it('drops a watcher that throws, from the count too, and still delivers to the rest', () => {
    const b = bus();
    const seen: LiveEvent[] = [];
    b.subscribe(() => {
      throw new Error('gone');
    });
    b.subscribe((e) => seen.push(e));
    b.publishLocal('agent', { agentId: 'a' });
    expect(b.watcherCount()).toBe(1);
    b.publishLocal('agent', { agentId: 'b' });
    expect(seen.map((e) => (e.data as { agentId: string }).agentId)).toEqual(['a', 'b']);
  });
});
