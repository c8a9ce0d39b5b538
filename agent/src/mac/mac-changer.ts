import type { AdapterInfo } from '../divert/dataplane';

/** Changes an adapter's MAC address the way the host's OS does it. */
export interface MacChanger {
  setMac(adapter: AdapterInfo, mac: string): Promise<void>;
  /** Back to the address the adapter had before (`original`, as recorded before the first change). */
  restoreMac(adapter: AdapterInfo, original: string): Promise<void>;
}

/** A command the OS refused; `output` is its stderr. */
export class MacChangeError extends Error {
  readonly code = 'MAC_CHANGE_FAILED';
}
