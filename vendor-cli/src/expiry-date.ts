import { InvalidArgumentError } from 'commander';

const DAY_MS = 86_400_000;

/**
 * `--expires 2027-12-31`: the key is valid through that whole day (UTC), so it expires at the
 * start of the next one.
 */
export function parseExpiryDate(text: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const startMs = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : NaN;
  const start = new Date(startMs);
  if (!match || Number.isNaN(startMs) || start.getUTCDate() !== Number(match[3]) || start.getUTCMonth() !== Number(match[2]) - 1) {
    throw new InvalidArgumentError('must be a date YYYY-MM-DD');
  }
  return startMs + DAY_MS;
}
