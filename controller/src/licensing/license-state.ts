import { EDITIONS, editionExpiresAtMs, type Edition, type EditionPolicy } from '@portfleet/proto';
import type { License } from '../generated/prisma/client';

const DAY_MS = 86_400_000;

/** Where the fleet stands: in its trial, under an activated license, or expired (neither). */
export interface LicenseState {
  status: 'trial' | 'licensed' | 'expired';
  /** The fleet edition; null when expired. */
  edition: Edition | null;
  license: License | null;
  trialStartedAt: Date;
  trialEndsAt: Date;
  /** When the edition in force ends; null = never. */
  expiresAt: Date | null;
  /** null = no limit (the trial). */
  seats: number | null;
}

export function licenseState(trialStartedAt: Date, license: License | null, now: number): LicenseState {
  const trialEndsAt = new Date(editionExpiresAtMs('trial', trialStartedAt.getTime())!);
  const base = { license, trialStartedAt, trialEndsAt };
  if (license) {
    const expired = license.expiresAt !== null && license.expiresAt.getTime() <= now;
    return { ...base, status: expired ? 'expired' : 'licensed', edition: expired ? null : (license.edition as Edition), expiresAt: license.expiresAt, seats: license.seats };
  }
  const expired = trialEndsAt.getTime() <= now;
  return { ...base, status: expired ? 'expired' : 'trial', edition: expired ? null : 'trial', expiresAt: trialEndsAt, seats: null };
}

/** The API shape (docs/http-api.md `License`). */
export function licenseView(state: LicenseState, seatsUsed: number, now: number) {
  const l = state.license;
  const policy: EditionPolicy | null = state.edition ? EDITIONS[state.edition] : null;
  return {
    status: state.status,
    edition: state.edition,
    serial: l?.serial ?? null,
    issuedTo: l?.issuedTo ?? null,
    seats: state.seats,
    seatsUsed,
    issuedAt: l?.issuedAt.toISOString() ?? null,
    expiresAt: state.expiresAt?.toISOString() ?? null,
    trialStartedAt: state.trialStartedAt.toISOString(),
    trialEndsAt: state.trialEndsAt.toISOString(),
    trialDaysLeft: l ? null : Math.max(0, Math.ceil((state.trialEndsAt.getTime() - now) / DAY_MS)),
    watermark: policy?.watermark ?? true,
    limits: policy,
    editions: EDITIONS,
  };
}

export type LicenseView = ReturnType<typeof licenseView>;
