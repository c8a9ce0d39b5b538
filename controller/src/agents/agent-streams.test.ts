import type { ControllerMessage } from '@portfleet/proto/gen/agent';
import { AgentStreams, type AgentStream, type OutgoingMessage } from './agent-streams';

function fakeStream() {
  const sent: OutgoingMessage[] = [];
  let closed = false;
  const stream: AgentStream = {
    send: (m) => {
      if (closed) return false;
      sent.push(m);
      return true;
    },
    close: () => {
      closed = true;
    },
  };
  return { stream, sent, isClosed: () => closed };
}

const heartbeat: ControllerMessage = { body: { $case: 'heartbeat', value: { sentAtMs: 1 } } };

describe('AgentStreams', () => {
  it('delivers to the live stream and reports offline agents', () => {
    const streams = new AgentStreams();
    const a = fakeStream();
    expect(streams.send('a', heartbeat)).toBe(false);
    streams.attach('a', a.stream);
    expect(streams.isOnline('a')).toBe(true);
    expect(streams.send('a', heartbeat)).toBe(true);
    expect(a.sent).toEqual([heartbeat]);
  });

  it('replaces and closes an older stream of the same agent; the old one detaching does not make it offline', () => {
    const streams = new AgentStreams();
    const old = fakeStream();
    const fresh = fakeStream();
    streams.attach('a', old.stream);
    streams.attach('a', fresh.stream);
    expect(old.isClosed()).toBe(true);
    expect(streams.detach('a', old.stream)).toBe(false);
    expect(streams.isOnline('a')).toBe(true);
    expect(streams.detach('a', fresh.stream)).toBe(true);
    expect(streams.isOnline('a')).toBe(false);
  });

  it('closes every stream on shutdown', () => {
    const streams = new AgentStreams();
    const a = fakeStream();
    const b = fakeStream();
    streams.attach('a', a.stream);
    streams.attach('b', b.stream);
    streams.closeAll();
    expect([a.isClosed(), b.isClosed(), streams.count()]).toEqual([true, true, 0]);
  });
});
