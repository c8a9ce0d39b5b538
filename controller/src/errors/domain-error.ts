import type { FieldError } from '@portfleet/proto';

/**
 * What kind of failure a domain error is; each transport maps a kind to its status once
 * (http/domain-exception.filter.ts, grpc/grpc-status.ts).
 */
export type ErrorKind =
  | 'validation'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'edition'
  | 'precondition'
  | 'rate_limited'
  | 'timeout'
  /** The database did not take a write or a read now (down, failing over): the caller retries. */
  | 'unavailable';

/** Base of every domain's typed error: a machine code, the offending field path and per-field details. */
export class DomainError extends Error {
  /** For rate_limited: seconds until a retry can succeed. */
  retryAfterS?: number;

  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly details: readonly FieldError[] = [],
  ) {
    super(field ? `${field}: ${message}` : message);
    this.name = new.target.name;
  }
}

/** Validation failures of a request body that is not a rule (rules carry their own FieldErrors). */
export class ValidationError extends DomainError {
  constructor(field: string, code: string, message: string) {
    super('validation', code, message, field, [{ field, code, message }]);
  }
}

/** The first failure leads the message; all of them travel as details. */
export function fromFieldErrors(kind: ErrorKind, code: string, errors: readonly FieldError[], prefix = ''): DomainError {
  const withPrefix = errors.map((e) => ({ ...e, field: prefix && e.field ? `${prefix}.${e.field}` : prefix || e.field }));
  const first = withPrefix[0];
  return new DomainError(kind, code, first?.message ?? 'invalid', first?.field || undefined, withPrefix);
}
