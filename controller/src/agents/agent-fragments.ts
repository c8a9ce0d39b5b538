import { agentView, type AgentViewRow } from './agent-view';

/**
 * An agent's `Agent` JSON (agentView, stringified, UTF-8) in pieces, around the fields that depend
 * on the moment of the request rather than on the row: `online` (which replicas are live),
 * `lastSeenAt` (an online agent is seen now) and `edition` (none in an unlicensed fleet). A page
 * is these pieces copied once into the response body: joining ~60 KB of small strings made a rope
 * that cost more to flatten for the socket than everything else the page did.
 */
export interface AgentFragment {
  /** The row version it was made from (`xmin`): any committed UPDATE of the row changes it. */
  version: string;
  createdAt: string;
  /** The whole JSON of an offline agent in a licensed fleet (the usual case), after a comma: one piece. */
  commaOfflineLicensed: Buffer;
  /** Offline: everything up to `edition`'s value. */
  offline: Buffer;
  /** Online: up to `lastSeenAt`'s value (the request's now), then `online_rest` up to `edition`'s. */
  online: Buffer;
  onlineRest: Buffer;
  /** `edition`'s value and the rest, in a licensed fleet and in an unlicensed one. */
  licensedTail: Buffer;
  unlicensedTail: Buffer;
}

/**
 * Cuts `agentView` of the row (the one definition of the view) around the fields of the moment,
 * found in its JSON by their keys: `online` and `lastSeenAt` come before any agent-written object
 * (only strings, whose quotes are escaped, precede them), and `edition` is found from the end
 * (only strings and string arrays follow it), so an adapter's own key named like them cannot be
 * mistaken for them. Checked: a view whose keys moved apart fails here, not in a client.
 */
export function fragmentOf(row: AgentViewRow, version: string): AgentFragment {
  const view = agentView(row, false, true);
  const json = JSON.stringify(view);
  const online = json.indexOf(ONLINE) + ONLINE.length;
  const adapters = online + OFFLINE_HEAD.length + JSON.stringify(view.lastSeenAt).length;
  const edition = json.lastIndexOf(EDITION) + EDITION.length;
  const groups = edition + JSON.stringify(view.edition).length;
  if (!json.startsWith(OFFLINE_HEAD, online) || !json.startsWith(ADAPTERS, adapters) || !json.startsWith(GROUPS, groups)) {
    throw new Error('agentView: online, lastSeenAt and adapters, edition and groups must follow each other');
  }
  return {
    version,
    createdAt: view.createdAt,
    commaOfflineLicensed: Buffer.from(`,${json}`),
    offline: Buffer.from(json.slice(0, edition)),
    online: Buffer.from(`${json.slice(0, online)}true,"lastSeenAt":`),
    onlineRest: Buffer.from(json.slice(adapters, edition)),
    licensedTail: Buffer.from(json.slice(edition)),
    unlicensedTail: Buffer.from(`null${json.slice(groups)}`),
  };
}

const ONLINE = ',"online":';
const OFFLINE_HEAD = 'false,"lastSeenAt":';
const ADAPTERS = ',"adapters":';
const EDITION = ',"edition":';
const GROUPS = ',"groups":';

const COMMA = Buffer.from(',');

/** Agents' JSON, comma-separated, in pieces; `now` is the request's time as a JSON string. */
export class FragmentWriter {
  readonly pieces: Buffer[] = [];
  private readonly now: Buffer;

  constructor(
    private readonly licensed: boolean,
    now: string,
  ) {
    this.now = Buffer.from(JSON.stringify(now));
  }

  add(f: AgentFragment, online: boolean): void {
    const first = this.pieces.length === 0;
    if (!online && this.licensed) {
      this.pieces.push(first ? f.commaOfflineLicensed.subarray(1) : f.commaOfflineLicensed);
      return;
    }
    if (!first) this.pieces.push(COMMA);
    if (online) this.pieces.push(f.online, this.now, f.onlineRest);
    else this.pieces.push(f.offline);
    this.pieces.push(this.licensed ? f.licensedTail : f.unlicensedTail);
  }
}

/**
 * Fragments by agent id, each valid only for the row version it was made from: a page reads every
 * agent's current `xmin` and renders again the agents whose row changed, so nothing shown is older
 * than the page's own read. Bounded: the oldest entries go first past `maxEntries`, and an entry
 * is dropped after `maxAgeMs` so a 32-bit `xmin` can never come round to the same value for an
 * entry still held (that takes 2^32 transactions).
 */
export class AgentFragments {
  private readonly entries = new Map<string, { fragment: AgentFragment; until: number }>();

  constructor(
    private readonly maxEntries = 50_000,
    private readonly maxAgeMs = 3_600_000,
  ) {}

  get(id: string, version: string, now: number): AgentFragment | undefined {
    const entry = this.entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.fragment.version === version && entry.until > now) return entry.fragment;
    this.entries.delete(id);
    return undefined;
  }

  set(id: string, fragment: AgentFragment, now: number): void {
    this.entries.delete(id); // re-inserted last: Map order is age order
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(id, { fragment, until: now + this.maxAgeMs });
  }

  get size(): number {
    return this.entries.size;
  }
}
