import { MAX_PAYLOAD_BYTES } from '../cluster/cluster-bus';
import { ClusterRelay } from './cluster-relay';
import type { LiveEvent } from './event-bus';

const agent = (i: number): LiveEvent => ({ type: 'agent', data: { agentId: `agent-${i}`, online: i % 2 === 0, name: 'é-host' } });

describe('ClusterRelay', () => {
  it('packs many events into few payloads under the NOTIFY limit, in order, and ignores its own', () => {
    const a = new ClusterRelay('replica-a');
    const b = new ClusterRelay('replica-b');
    const events = Array.from({ length: 500 }, (_, i) => agent(i));
    const messages = a.encode(events);
    expect(messages.length).toBeGreaterThan(1);
    expect(messages.length).toBeLessThan(20);
    for (const m of messages) expect(Buffer.byteLength(m)).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    expect(messages.flatMap((m) => b.decode(m))).toEqual(events);
    expect(messages.flatMap((m) => a.decode(m))).toEqual([]);
  });

  it('slices an event bigger than a payload and reassembles it', () => {
    const a = new ClusterRelay('replica-a');
    const b = new ClusterRelay('replica-b');
    const big: LiveEvent = { type: 'activity', data: { rules: Array.from({ length: 2000 }, (_, i) => ({ ruleId: `r-${i}`, agentId: 'ü'.repeat(10) })) } };
    const messages = a.encode([agent(1), big, agent(2)]);
    for (const m of messages) expect(Buffer.byteLength(m)).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    expect(messages.length).toBeGreaterThan(5);
    expect(messages.flatMap((m) => b.decode(m))).toEqual([agent(1), big, agent(2)]);
  });

  it('drops a sliced event whose middle went missing, and reads the next one whole', () => {
    const a = new ClusterRelay('replica-a');
    const b = new ClusterRelay('replica-b');
    const big: LiveEvent = { type: 'activity', data: { blob: 'x'.repeat(20_000) } };
    const first = a.encode([big]);
    const second = a.encode([big]);
    expect([first[0], ...first.slice(2)].flatMap((m) => b.decode(m))).toEqual([]);
    expect(second.flatMap((m) => b.decode(m))).toEqual([big]);
  });

  it('recognises its own messages, whole and sliced, without parsing them; a longer origin that starts with ours is not ours', () => {
    const origin = 'replica-"a"-ü';
    const a = new ClusterRelay(origin);
    const a2 = new ClusterRelay(`${origin}2`);
    const big: LiveEvent = { type: 'activity', data: { blob: 'x'.repeat(20_000) } };
    const own = a.encode([agent(1), big, agent(2)]);
    const other = a2.encode([agent(3)]);
    const parse = jest.spyOn(JSON, 'parse');
    try {
      expect(own.flatMap((m) => a.decode(m))).toEqual([]);
      expect(parse).not.toHaveBeenCalled();
      expect(other.flatMap((m) => a.decode(m))).toEqual([agent(3)]);
      expect(parse).toHaveBeenCalled();
    } finally {
      parse.mockRestore();
    }
  });

  it('still ignores its own message written in another spelling (parsed, then recognised by its origin)', () => {
    const a = new ClusterRelay('replica-a');
    expect(a.decode(JSON.stringify({ e: [agent(1)], o: 'replica-a' }))).toEqual([]);
    expect(a.decode('{ "o": "replica-a", "e": [] }')).toEqual([]);
    expect(a.decode(JSON.stringify({ e: [agent(1)], o: 'replica-b' }))).toEqual([agent(1)]);
  });
});
