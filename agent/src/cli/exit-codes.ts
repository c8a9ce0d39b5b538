/** Exit codes of `portfleet-agent` (docs/agent.md lists them). */
export const EXIT_FAILURE = 1;
/** Not enrolled, or the credential in the state folder is unusable. */
export const EXIT_NOT_ENROLLED = 2;
/** Standalone: no usable edition (trial over, serial key forged, altered or expired). */
export const EXIT_LICENSE = 3;
