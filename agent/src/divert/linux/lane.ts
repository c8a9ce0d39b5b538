/**
 * One NFQUEUE with its verdict sender and its place in the receive ring. The data plane runs
 * several: queues differ in how the kernel hands packets over (GSO super-packets whole or cut),
 * and more queues are how the plane will spread over cores.
 */
import { NfQueue, type NfQueueOptions } from './nfqueue';
import { VerdictSender } from './verdicts';

export class Lane {
  readonly queue: NfQueue;
  readonly verdicts: VerdictSender;
  /** Filled ring slots of the last recvmmsg and the next one to hand out. */
  ringCount = 0;
  ringNext = 0;
  /** The last receive took fewer packets than it had slots for: the socket held no more then. */
  drained = true;
  private readonly slots: number;
  /** Per verdict call: the last id of this lane in the batch, and whether any was accepted as is. */
  lastId = 0;
  accepts = false;

  constructor(options: NfQueueOptions) {
    this.queue = new NfQueue(options);
    this.slots = options.slots;
    try {
      const granted = this.queue.socket.setSendBuffer(8 << 20);
      // Leave room for the kernel's skb overhead (it refuses a datagram over sndbuf - 32).
      this.verdicts = new VerdictSender(this.queue.socket, options.queueNum, Math.max(16 << 10, Math.floor(granted / 2) - 4096));
    } catch (error) {
      this.queue.close();
      throw error;
    }
  }

  /** Drains the socket into the ring once the ring is used up; false when nothing was queued. */
  refill(): boolean {
    if (this.ringNext < this.ringCount) return true;
    const n = this.queue.receive();
    this.ringCount = n;
    this.ringNext = 0;
    this.drained = n < this.slots;
    return n > 0;
  }

  /**
   * At shutdown, after steering stopped sending us more: accepts, unchanged, everything still
   * queued or handed out without a verdict yet (closing the socket would drop it).
   */
  acceptRemaining(): void {
    for (;;) {
      for (let s = this.ringNext; s < this.ringCount; s++) {
        if (this.queue.status[s] !== 0) this.saw(this.queue.id[s]!);
      }
      this.ringNext = this.ringCount;
      if (!this.refill()) break;
    }
    if (!this.seenAny) return;
    this.verdicts.acceptUpTo(this.lastSeenId);
    this.verdicts.flush();
  }

  /** Remembers the newest packet id taken from the ring. */
  saw(id: number): void {
    this.lastSeenId = id;
    this.seenAny = true;
  }

  private lastSeenId = 0;
  private seenAny = false;

  close(): void {
    this.queue.close();
    this.ringCount = this.ringNext = 0;
  }
}
