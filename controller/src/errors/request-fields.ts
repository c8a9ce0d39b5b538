import { ValidationError } from './domain-error';

/**
 * Readers for the plain fields of request bodies (names, ids, counts): each names the field it
 * rejects. Rules themselves are validated by @portfleet/proto.
 */
export function requireObject(body: unknown, field = 'body'): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationError(field, 'INVALID_TYPE', 'must be a JSON object');
  }
  return body as Record<string, unknown>;
}

export function requireString(value: unknown, field: string, maxLength = 256): string {
  if (typeof value !== 'string' || value.trim() === '') throw new ValidationError(field, 'REQUIRED', 'must be a non-empty string');
  if (value.length > maxLength) throw new ValidationError(field, 'TOO_LONG', `must be at most ${maxLength} characters`);
  return value;
}

export function optionalInt(value: unknown, field: string, min: number, max: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(field, 'OUT_OF_RANGE', `must be an integer ${min}-${max}`);
  }
  return value;
}

export function requireStringArray(value: unknown, field: string): string[] {
  if (!Array.isArray(value)) throw new ValidationError(field, 'INVALID_TYPE', 'must be an array of strings');
  value.forEach((v, i) => requireString(v, `${field}[${i}]`));
  return value as string[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are UUIDs; anything else cannot name a row (and must not reach Postgres as a bad uuid). */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
