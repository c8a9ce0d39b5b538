import { agentView, type AgentViewRow } from './agent-view';

/**
 * An agent's `Agent` JSON (agentView, stringified, UTF-8), with what the fields that depend on the
 * moment of the request rather than on the row need: `online` (which replicas are live),
 * `lastSeenAt` (an online agent is seen now) and `edition` (none in an unlicensed fleet). One
 * buffer per agent, `,<offline JSON><online head>null<after edition>`, and byte offsets into it:
 * a page copies ranges of it into its body (one range for an offline agent in a licensed fleet).
 * Joining ~60 KB of small strings instead made a rope that cost more to flatten for the socket
 * than everything else the page did; a buffer per piece cost ~3 KB of memory per agent.
 */
export interface AgentFragment {
  /** The row version it was made from (`xmin`): any committed UPDATE of the row changes it. */
  version: string;
  id: string;
  createdAt: string;
  bytes: Buffer;
  /** In `bytes`: where `adapters` begins, `edition`'s value begins, the offline JSON ends, the online head ends. */
  adaptersAt: number;
  editionAt: number;
  jsonEnd: number;
  onlineHeadEnd: number;
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
  const onlineHead = `${json.slice(0, online)}true,"lastSeenAt":`;
  const bytes = Buffer.from(`,${json}${onlineHead}null${json.slice(groups)}`);
  const jsonEnd = 1 + Buffer.byteLength(json);
  return {
    version,
    id: view.id,
    createdAt: view.createdAt,
    bytes,
    adaptersAt: 1 + Buffer.byteLength(json.slice(0, adapters)),
    editionAt: 1 + Buffer.byteLength(json.slice(0, edition)),
    jsonEnd,
    onlineHeadEnd: jsonEnd + Buffer.byteLength(onlineHead),
  };
}

const ONLINE = ',"online":';
const OFFLINE_HEAD = 'false,"lastSeenAt":';
const ADAPTERS = ',"adapters":';
const EDITION = ',"edition":';
const GROUPS = ',"groups":';
const COMMA = Buffer.from(',');

/** Agents' JSON, comma-separated, into one buffer; `now` is the request's time as a JSON string. */
export class FragmentWriter {
  /** Ranges to copy: buffer, start, end, buffer, start, end, … */
  private readonly ranges: (Buffer | number)[] = [];
  private length = 0;
  private readonly now: Buffer;

  constructor(
    private readonly licensed: boolean,
    now: string,
  ) {
    this.now = Buffer.from(JSON.stringify(now));
  }

  add(f: AgentFragment, online: boolean): void {
    const comma = this.length > 0;
    const { bytes } = f;
    if (!online) {
      // `,` + the offline JSON up to edition's value, then the licensed or the unlicensed rest.
      if (this.licensed) return this.range(bytes, comma ? 0 : 1, f.jsonEnd);
      this.range(bytes, comma ? 0 : 1, f.editionAt);
    } else {
      if (comma) this.range(COMMA, 0, 1);
      this.range(bytes, f.jsonEnd, f.onlineHeadEnd);
      this.range(this.now, 0, this.now.length);
      if (this.licensed) return this.range(bytes, f.adaptersAt, f.jsonEnd);
      this.range(bytes, f.adaptersAt, f.editionAt);
    }
    this.range(bytes, f.onlineHeadEnd, bytes.length);
  }

  toBuffer(): Buffer {
    const out = Buffer.allocUnsafe(this.length);
    let at = 0;
    for (let i = 0; i < this.ranges.length; i += 3) {
      at += (this.ranges[i] as Buffer).copy(out, at, this.ranges[i + 1] as number, this.ranges[i + 2] as number);
    }
    return out;
  }

  private range(buffer: Buffer, start: number, end: number): void {
    this.ranges.push(buffer, start, end);
    this.length += end - start;
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
    private readonly maxEntries: number,
    private readonly maxAgeMs: number,
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
