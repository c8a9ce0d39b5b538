import type { FieldError, Rule, Settings } from '@portfleet/proto';
import type { PacketBatch } from '../engine/batch';

/**
 * What a data plane can do, reported to the controller in Hello and given to the engine, which
 * rejects (per rule, UNSUPPORTED_BY_DATAPLANE) what the plane cannot carry out.
 */
export interface DataPlaneCapabilities {
  /** `memory`, `nfqueue`, `windivert`. */
  kind: string;
  /** Sees and writes Ethernet headers (MAC selectors and rewrites). */
  layer2: boolean;
  /** Can send a packet back the way it came (mirror / route). */
  reflection: boolean;
  /** Can select by and send through a chosen adapter. */
  adapters: boolean;
  /** Can inject extra copies of a packet. */
  clone: boolean;
}

/** A network adapter of the host as the agent reports it (SPEC §1: selectable by name or index). */
export interface AdapterInfo {
  name: string;
  index: number;
  macs: string[];
  addresses: string[];
}

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
