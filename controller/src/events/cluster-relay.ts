import type { LiveEvent } from './event-bus';
import { MAX_PAYLOAD_BYTES } from '../cluster/cluster-bus';

/** One NOTIFY payload: a batch of whole events, or one slice of an event too big for a payload. */
type Message =
  | { o: string; e: LiveEvent[] }
  | { o: string; p: { id: number; i: number; n: number; b64: string } };

/** Room for the envelope around a slice: 4,500 bytes become 6,000 base64 characters. */
const SLICE_BYTES = 4_500;

/**
 * Packs live events into ClusterBus payloads (< 8000 bytes) and unpacks them on the other side.
 * Events are batched in publish order; an event whose JSON alone exceeds a payload travels as
 * base64 slices reassembled by the receiver (one replica's messages arrive in order).
 */
export class ClusterRelay {
  private nextId = 1;
  private readonly partial = new Map<string, { id: number; parts: Buffer[] }>();
  /**
   * How every message this relay encodes begins (`encode` writes it, `slices` gets it from
   * JSON.stringify's key order): NOTIFY delivers our own messages back to us, a few hundred per
   * 10,000 acks, and they are recognised without parsing them.
   */
  private readonly ownPrefix: string;

  constructor(readonly origin: string) {
    this.ownPrefix = `{"o":${JSON.stringify(origin)},`;
  }

  encode(events: readonly LiveEvent[]): string[] {
    const messages: string[] = [];
    let batch: string[] = [];
    let batchBytes = 0;
    const head = `${this.ownPrefix}"e":[`;
    const flush = () => {
      if (batch.length) messages.push(`${head}${batch.join(',')}]}`);
      batch = [];
      batchBytes = 0;
    };
    for (const event of events) {
      const json = JSON.stringify(event);
      const bytes = Buffer.byteLength(json);
      if (Buffer.byteLength(head) + bytes + 2 > MAX_PAYLOAD_BYTES) {
        flush();
        messages.push(...this.slices(json));
        continue;
      }
      if (Buffer.byteLength(head) + batchBytes + bytes + batch.length + 2 > MAX_PAYLOAD_BYTES) flush();
      batch.push(json);
      batchBytes += bytes;
    }
    flush();
    return messages;
  }

  /** The events a message from another replica completes (none for our own messages). */
  decode(payload: string): LiveEvent[] {
    if (payload.startsWith(this.ownPrefix)) return [];
    const message = JSON.parse(payload) as Message;
    if (message.o === this.origin) return []; // ours, written otherwise (e.g. by another encoder version)
    if ('e' in message) return message.e;
    const { id, i, n, b64 } = message.p;
    let entry = this.partial.get(message.o);
    if (i === 0 || !entry || entry.id !== id) {
      entry = { id, parts: [] };
      this.partial.set(message.o, entry);
    }
    if (entry.parts.length !== i) {
      this.partial.delete(message.o); // a slice went missing (listener reconnected): drop the event
      return [];
    }
    entry.parts.push(Buffer.from(b64, 'base64'));
    if (entry.parts.length < n) return [];
    this.partial.delete(message.o);
    return [JSON.parse(Buffer.concat(entry.parts).toString('utf8')) as LiveEvent];
  }

  private slices(json: string): string[] {
    const bytes = Buffer.from(json, 'utf8');
    const id = this.nextId++;
    const n = Math.ceil(bytes.length / SLICE_BYTES);
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const b64 = bytes.subarray(i * SLICE_BYTES, (i + 1) * SLICE_BYTES).toString('base64');
      out.push(JSON.stringify({ o: this.origin, p: { id, i, n, b64 } }));
    }
    return out;
  }
}
