import * as net from 'node:net';
import type { TapAddress } from './memory';
import { encodePacketFrame, TapFrameReader, TapFrameType } from './tap-protocol';

export interface TapPacket {
  flags: number;
  ifIndex: number;
  bytes: Uint8Array;
}

/** What the agent did with one packet sent through the tap. */
export interface TapResult extends TapPacket {
  verdict: number;
  /** Index of the rule that handled it in the applied list, -1 none. */
  rule: number;
  /** Extra packets (clones, reflected copies) sent before this verdict. */
  emitted: TapPacket[];
}

/**
 * The other end of the memory data plane's tap. Results come back in the order packets were sent;
 * emitted packets are attributed to the next verdict, which is exact while one packet at a time
 * is in flight (the way tests use it).
 */
export class TapClient {
  private readonly waiting: { resolve: (r: TapResult) => void; reject: (e: Error) => void }[] = [];
  private emitted: TapPacket[] = [];
  private failure: Error | undefined;

  private constructor(private readonly socket: net.Socket) {
    const reader = new TapFrameReader();
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const frame of reader.push(chunk)) {
          const bytes = Uint8Array.from(frame.bytes);
          if (frame.type === TapFrameType.Emitted) {
            this.emitted.push({ flags: frame.flags, ifIndex: frame.ifIndex, bytes });
          } else if (frame.type === TapFrameType.Verdict) {
            const emitted = this.emitted;
            this.emitted = [];
            this.waiting.shift()?.resolve({ verdict: frame.verdict, flags: frame.flags, ifIndex: frame.ifIndex, rule: frame.rule, bytes, emitted });
          }
        }
      } catch (error) {
        socket.destroy(error as Error);
      }
    });
    const fail = (error: Error) => {
      this.failure ??= error;
      for (const w of this.waiting.splice(0)) w.reject(this.failure);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('tap connection closed')));
  }

  static connect(address: TapAddress | string): Promise<TapClient> {
    const target = typeof address === 'string' ? (/^\d+$/.test(address) ? { port: Number(address) } : { path: address }) : address;
    return new Promise((resolve, reject) => {
      const socket = 'path' in target ? net.connect(target.path) : net.connect(target.port, '127.0.0.1');
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new TapClient(socket));
      });
    });
  }

  send(bytes: Uint8Array, flags: number, ifIndex = 0): Promise<TapResult> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.socket.write(encodePacketFrame(TapFrameType.Packet, flags, ifIndex, bytes));
    });
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
  }
}
