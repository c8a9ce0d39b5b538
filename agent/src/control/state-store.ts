import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import { removeStaleTempFiles, writeFileAtomic } from './atomic-file';

/**
 * The agent's state folder: its credential, the last applied rule set, the activity reports it
 * still owes the controller, the local serial key / trial start (standalone) and the adapters'
 * original MACs. Every file is written atomically (temp + fsync + rename), readable by
 * its owner only.
 */
export const STATE_DIR_ENV = 'PORTFLEET_AGENT_STATE_DIR';

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env[STATE_DIR_ENV];
  if (fromEnv) return path.resolve(fromEnv);
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  return isRoot ? '/var/lib/portfleet-agent' : path.join(os.homedir(), '.portfleet-agent');
}

const credentialSchema = z.object({
  controller: z.string().min(1),
  agentId: z.string().min(1),
  credential: z.string().min(1),
  /** PEM of the key the controller signs capability snapshots with, when it was given at enrollment. */
  controllerPublicKey: z.string().optional(),
});
export type Credential = z.infer<typeof credentialSchema>;

const ruleSetSchema = z.object({
  ruleSetId: z.string(),
  version: z.number().int().nonnegative(),
  // Rules are re-validated by the apply pipeline (parseRuleList) when they are loaded.
  rules: z.array(z.unknown()),
  settings: z.object({
    applyDelayMs: z.number().int().nonnegative(),
    tcpTimeoutS: z.number().int().nonnegative(),
    udpTimeoutS: z.number().int().nonnegative(),
  }),
  contentHash: z.string(),
});

const appliedSchema = z.object({
  pushId: z.string(),
  ruleSet: ruleSetSchema,
  /** DNS answers used at apply time, so a reboot applies exactly the same list without the network. */
  resolved: z.record(z.string(), z.array(z.string())),
  /** The signed capability snapshot (base64), or null when the controller sent none. */
  capabilities: z.object({ payload: z.string(), signature: z.string() }).nullable(),
  appliedAtMs: z.number(),
});
export type AppliedState = z.infer<typeof appliedSchema>;

const ruleActivitySchema = z.object({
  ruleId: z.string(),
  packetsIn: z.number(),
  bytesIn: z.number(),
  packetsOut: z.number(),
  bytesOut: z.number(),
  conversationsActive: z.number(),
  conversationsNew: z.number(),
  lastHitMs: z.number(),
});
const pendingReportSchema = z.object({
  seq: z.number().int().positive(),
  periodStartMs: z.number(),
  periodEndMs: z.number(),
  /** True once it went out on a stream: it may be stored already, so it is never merged or renumbered. */
  sent: z.boolean(),
  rules: z.array(ruleActivitySchema),
});
export type PendingReport = z.infer<typeof pendingReportSchema>;

const activitySchema = z.object({
  nextSeq: z.number().int().positive(),
  pending: z.array(pendingReportSchema),
});
export type ActivityState = z.infer<typeof activitySchema>;

const licenseSchema = z.object({
  /** The serial key as activated (verified again at every use). */
  key: z.string().min(1),
  activatedAtMs: z.number(),
});
export type StoredLicense = z.infer<typeof licenseSchema>;

const trialSchema = z.object({
  /** The first standalone start without a serial key: the 30-day trial runs from here. */
  startedAtMs: z.number(),
});
export type TrialState = z.infer<typeof trialSchema>;

const adaptersSchema = z.object({
  /** Adapter name → the MAC it had before this agent first changed it. */
  originalMacs: z.record(z.string(), z.string()),
});
export type AdapterState = z.infer<typeof adaptersSchema>;

const FILES = {
  credential: { name: 'credential.json', schema: credentialSchema },
  license: { name: 'license.json', schema: licenseSchema },
  trial: { name: 'trial.json', schema: trialSchema },
  adapters: { name: 'adapters.json', schema: adaptersSchema },
  applied: { name: 'applied.json', schema: appliedSchema },
  activity: { name: 'activity.json', schema: activitySchema },
} as const;
type FileKey = keyof typeof FILES;
type FileValue<K extends FileKey> = z.infer<(typeof FILES)[K]['schema']>;

/** A state file exists but cannot be used; the message says which file and why. */
export class StateFileCorruptError extends Error {
  readonly code = 'STATE_FILE_CORRUPT';
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`state file ${file} is corrupt (${reason})`);
  }
}

/** A corrupt file was moved aside so the agent could start from a safe default. */
export interface Quarantined {
  error: StateFileCorruptError;
  movedTo: string;
}

export class StateStore {
  /** Writes to one file happen in call order, so an older state never overwrites a newer one. */
  private readonly writeChains = new Map<FileKey, Promise<void>>();

  constructor(readonly dir: string) {}

  /** Creates the folder (0700) and tightens it if it already existed; drops leftovers of crashed writes. */
  async init(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    await fs.chmod(this.dir, 0o700);
    await removeStaleTempFiles(this.dir);
  }

  path(key: FileKey): string {
    return path.join(this.dir, FILES[key].name);
  }

  readCredential(): Promise<Credential | null> {
    return this.read('credential');
  }
  writeCredential(value: Credential): Promise<void> {
    return this.write('credential', value);
  }
  readLicense(): Promise<StoredLicense | null> {
    return this.read('license');
  }
  writeLicense(value: StoredLicense): Promise<void> {
    return this.write('license', value);
  }
  readTrial(): Promise<TrialState | null> {
    return this.read('trial');
  }
  writeTrial(value: TrialState): Promise<void> {
    return this.write('trial', value);
  }
  readAdapters(): Promise<AdapterState | null> {
    return this.read('adapters');
  }
  writeAdapters(value: AdapterState): Promise<void> {
    return this.write('adapters', value);
  }
  readApplied(): Promise<AppliedState | null> {
    return this.read('applied');
  }
  writeApplied(value: AppliedState): Promise<void> {
    return this.write('applied', value);
  }
  readActivity(): Promise<ActivityState | null> {
    return this.read('activity');
  }
  writeActivity(value: ActivityState): Promise<void> {
    return this.write('activity', value);
  }

  /**
   * Reads a file that has a safe default: a corrupt file is renamed to `<name>.corrupt-<time>` (kept
   * for inspection) and null is returned together with what happened.
   */
  async readOrQuarantine<K extends 'applied' | 'activity'>(
    key: K,
  ): Promise<{ value: FileValue<K> | null; quarantined?: Quarantined }> {
    try {
      return { value: await this.read(key) };
    } catch (error) {
      if (!(error instanceof StateFileCorruptError)) throw error;
      const movedTo = `${this.path(key)}.corrupt-${Date.now()}`;
      await fs.rename(this.path(key), movedTo);
      return { value: null, quarantined: { error, movedTo } };
    }
  }

  /** Resolves when every write issued so far is on disk. */
  async flush(): Promise<void> {
    await Promise.all([...this.writeChains.values()]);
  }

  private async read<K extends FileKey>(key: K): Promise<FileValue<K> | null> {
    const file = this.path(key);
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new StateFileCorruptError(file, `not JSON: ${(error as Error).message}`);
    }
    const parsed = FILES[key].schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new StateFileCorruptError(file, `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    }
    return parsed.data as FileValue<K>;
  }

  private write<K extends FileKey>(key: K, value: FileValue<K>): Promise<void> {
    const text = `${JSON.stringify(value, null, 1)}\n`;
    const previous = this.writeChains.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => writeFileAtomic(this.path(key), text, 0o600));
    this.writeChains.set(key, next);
    return next;
  }
}
