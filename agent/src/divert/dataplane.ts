import type { FieldError, Rule, Settings } from '@portfleet/proto';
import type { PacketBatch } from '../engine/batch';
import type { AdapterInfo, DataPlaneCapabilities } from '../engine/engine';

/**
 * What a data plane can do (reported to the controller in Hello; the engine rejects, per rule,
 * what the plane cannot carry out) and the adapters it reports: the engine's own types, since the
 * engine compiles against exactly these.
 */
export type { AdapterInfo, DataPlaneCapabilities };

/** What a rule list needs diverted (the same input the engine compiled). */
export interface DataPlaneSelection {
  rules: Rule[];
  /** DNS name → addresses, as resolved at apply time. */
  resolved: ReadonlyMap<string, string[]>;
  adapters: AdapterInfo[];
  settings: Settings;
}

/**
 * Diverts the packets its rules select and puts them back. The agent drives it in a loop:
 * `receive` a batch → `Engine.process` → `inject` what the engine emitted → `verdict` the batch.
 * Implementations: memory (tests, hosts without a real plane), Linux NFQUEUE, Windows WinDivert.
 */
export interface DataPlane {
  readonly capabilities: DataPlaneCapabilities;
  /** The host's adapters as this plane can address them. */
  adapters(): Promise<AdapterInfo[]>;
  open(): Promise<void>;
  /**
   * Optional: narrows what the plane diverts (kernel filters, queue rules) to what the list
   * selects. Called after the engine accepted the list; errors (per rule and field) fail the
   * apply, the plane keeps its previous selection and the engine goes back to the previous list.
   * Planes that see every packet (memory) leave it out.
   */
  select?(selection: DataPlaneSelection): FieldError[] | Promise<FieldError[]>;
  /**
   * Fills `batch` (cleared by the caller) with at least one diverted packet. Resolves false
   * once the plane is closed and nothing more will come.
   */
  receive(batch: PacketBatch): Promise<boolean>;
  /** Sends extra packets the engine produced (clones, reflected copies) for the last batch. */
  inject(emitted: PacketBatch): void;
  /** Carries out the verdicts (and rewritten bytes) the engine wrote into the last batch. */
  verdict(batch: PacketBatch): void;
  close(): Promise<void>;
}
