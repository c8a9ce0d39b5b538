/**
 * The agent package's API for other packages' tests and tools (the CLI is `bin/portfleet-agent.js`).
 */
export { Agent, type AgentOptions } from './control/agent';
export { StateStore, defaultStateDir, STATE_DIR_ENV, StateFileCorruptError, type AppliedState, type Credential } from './control/state-store';
export { Backoff, type BackoffOptions } from './control/backoff';
export type { AdapterInfo, DataPlane, DataPlaneCapabilities } from './divert/dataplane';
export { MemoryDataPlane, parseTapAddress, type TapAddress } from './divert/memory';
export { TapClient, type TapPacket, type TapResult } from './divert/tap-client';
export { TapFrameType } from './divert/tap-protocol';
export { PacketBatch, PacketFlag, Verdict } from './engine/batch';
export { Engine } from './engine/engine';
