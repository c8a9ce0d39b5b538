import { PacketBatch, Verdict } from '../engine/batch';
import type { DataPlane } from './dataplane';

/** The one method of the engine the packet path needs. */
export interface PacketProcessor {
  process(batch: PacketBatch, emitted: PacketBatch, nowMs: number): void;
}

/**
 * Moves packets from a data plane through the engine and back, one batch at a time, reusing the
 * same two batches for the life of the agent.
 */
export class PacketPump {
  private readonly batch = new PacketBatch();
  private readonly emitted = new PacketBatch();
  private running: Promise<void> | undefined;

  constructor(
    private readonly plane: DataPlane,
    private readonly engine: PacketProcessor,
    private readonly onEngineError: (error: unknown) => void,
  ) {}

  start(): Promise<void> {
    return (this.running ??= this.loop());
  }

  private async loop(): Promise<void> {
    const { batch, emitted, plane } = this;
    for (;;) {
      batch.clear();
      emitted.clear();
      if (!(await plane.receive(batch))) return;
      try {
        this.engine.process(batch, emitted, Date.now());
      } catch (error) {
        // A half-rewritten packet must not leave; dropped ones are retransmitted by their senders.
        batch.verdict.fill(Verdict.Drop, 0, batch.count);
        emitted.clear();
        this.onEngineError(error);
      }
      plane.inject(emitted);
      plane.verdict(batch);
    }
  }
}
