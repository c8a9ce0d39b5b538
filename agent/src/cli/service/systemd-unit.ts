/** The systemd unit that runs the agent as a service on Linux (`portfleet-agent service install`). */
export const UNIT_NAME = 'portfleet-agent.service';
export const DEFAULT_UNIT_DIR = '/etc/systemd/system';

export interface UnitOptions {
  /** Absolute path of the node binary. */
  node: string;
  /** Absolute path of bin/portfleet-agent.js. */
  cli: string;
  stateDir: string;
  /** Extra arguments of `run` (data plane, tap, report interval…). */
  runArgs: string[];
  /** Folders the agent writes besides its state folder (a tap socket's folder). */
  writablePaths?: string[];
}

/** systemd's quoting for one word of ExecStart / a path list entry. */
function quote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `"${word.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function renderUnit(options: UnitOptions): string {
  const exec = [options.node, options.cli, 'run', '--state-dir', options.stateDir, ...options.runArgs].map(quote).join(' ');
  const writable = [options.stateDir, ...(options.writablePaths ?? [])].map(quote).join(' ');
  return `[Unit]
Description=Portfleet agent (port forwarding, managed by a Portfleet controller)
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart=${exec}
# SIGTERM: the agent closes its controller stream and flushes its state, then exits 0.
KillSignal=SIGTERM
TimeoutStopSec=20
Restart=always
RestartSec=2
# Diverting and injecting packets needs root's network capabilities; the rest of the
# system stays read-only except the agent's own state.
ProtectSystem=full
ReadWritePaths=${writable}
UMask=0077

[Install]
WantedBy=multi-user.target
`;
}
