import { editionExpiresAtMs, verifyLicenseKey, type Edition, type FieldError, type License } from '@portfleet/proto';
import { StateFileCorruptError, type StateStore } from './state-store';

/**
 * The edition of a host without a controller (standalone, SPEC §3): the activated serial key's,
 * else a 30-day Trial counted from the first standalone start. Basic has no keyless form: once
 * the trial is over, a key is needed (Basic keys are free).
 */
export type LocalEdition =
  | { ok: true; edition: Edition; source: 'license'; license: License }
  | { ok: true; edition: 'trial'; source: 'trial'; startedAtMs: number | null; expiresAtMs: number }
  | { ok: false; errors: FieldError[] };

export interface LocalEditionOptions {
  /** PEM of the vendor key (licensePublicKey()). */
  publicKey: string;
  nowMs?: number;
  /** Records the trial's first day when it has not started yet (only `run --standalone` does). */
  startTrial?: boolean;
}

export const ACTIVATE_HINT = 'activate a serial key with `portfleet-agent license activate KEY` (Basic keys are free)';

export async function localEdition(store: StateStore, options: LocalEditionOptions): Promise<LocalEdition> {
  const nowMs = options.nowMs ?? Date.now();
  const stored = await readOrProblem(() => store.readLicense(), 'license');
  if ('errors' in stored) return { ok: false, errors: stored.errors };
  if (stored.value) {
    const verified = verifyLicenseKey(stored.value.key, options.publicKey, nowMs);
    if (!verified.ok) return { ok: false, errors: verified.errors.map((e) => ({ ...e, message: `the activated serial key ${e.message}; ${ACTIVATE_HINT}` })) };
    return { ok: true, edition: verified.value.edition, source: 'license', license: verified.value };
  }

  const trial = await readOrProblem(() => store.readTrial(), 'trial');
  if ('errors' in trial) return { ok: false, errors: trial.errors };
  let startedAtMs = trial.value?.startedAtMs ?? null;
  if (startedAtMs === null && options.startTrial) {
    startedAtMs = nowMs;
    await store.writeTrial({ startedAtMs });
  }
  const expiresAtMs = editionExpiresAtMs('trial', startedAtMs ?? nowMs)!;
  if (nowMs >= expiresAtMs) {
    return { ok: false, errors: [{ field: 'license', code: 'TRIAL_EXPIRED', message: `the 30-day trial ended at ${new Date(expiresAtMs).toISOString()}; ${ACTIVATE_HINT}` }] };
  }
  return { ok: true, edition: 'trial', source: 'trial', startedAtMs, expiresAtMs };
}

/** Verifies `key` and stores it (0600) as this host's license; nothing is stored when it is not valid. */
export async function activateLicense(store: StateStore, key: string, options: { publicKey: string; nowMs?: number }): Promise<{ ok: true; license: License } | { ok: false; errors: FieldError[] }> {
  const nowMs = options.nowMs ?? Date.now();
  const verified = verifyLicenseKey(key, options.publicKey, nowMs);
  if (!verified.ok) return verified;
  await store.init();
  await store.writeLicense({ key: key.trim(), activatedAtMs: nowMs });
  return { ok: true, license: verified.value };
}

async function readOrProblem<T>(read: () => Promise<T>, field: string): Promise<{ value: T } | { errors: FieldError[] }> {
  try {
    return { value: await read() };
  } catch (error) {
    if (!(error instanceof StateFileCorruptError)) throw error;
    return { errors: [{ field, code: 'STATE_FILE_CORRUPT', message: `${error.message}; ${ACTIVATE_HINT} again` }] };
  }
}
