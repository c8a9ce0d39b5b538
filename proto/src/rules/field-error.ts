/**
 * The one error shape of the shared model: every problem names the field it is about, so the
 * HTTP API, gRPC and the console can point at it. Lists add the rule's index and id.
 */
export type FieldError = {
  /** Path inside the rule (or settings, or file), e.g. `selector.localPort`; `''` for the whole. */
  field: string;
  code: ErrorCode | (string & {});
  message: string;
  ruleIndex?: number;
  ruleId?: string;
};

export type Parsed<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

/** Codes produced by this package; agents add their own (UNSUPPORTED_BY_DATAPLANE, DNS_UNRESOLVED…). */
export type ErrorCode =
  | 'REQUIRED'
  | 'INVALID_TYPE'
  | 'INVALID_ENUM'
  | 'INVALID_ID'
  | 'INVALID_PORT'
  | 'INVALID_ADDRESS'
  | 'INVALID_MAC'
  | 'INVALID_ADAPTER'
  | 'OUT_OF_RANGE'
  | 'UNKNOWN_FIELD'
  | 'TOO_LONG'
  | 'DUPLICATE_ID'
  | 'ADDRESS_FAMILY_MISMATCH'
  | 'SHADOWED_RULE'
  | 'INVALID_JSON'
  | 'INVALID_FORMAT'
  | 'UNSUPPORTED_VERSION'
  | 'HASH_MISMATCH'
  | 'RULE_LIMIT_EXCEEDED'
  | 'FEATURE_NOT_IN_EDITION'
  | 'INVALID_SIGNATURE'
  | 'EXPIRED'
  | 'INVALID_LICENSE_FORMAT'
  | 'LICENSE_EXPIRED';

export function fieldError(field: string, code: ErrorCode, message: string): FieldError {
  return { field, code, message };
}

/** `prefix.key`, or `key` at the top. */
export function fieldPath(prefix: string, key: string): string {
  return prefix === '' ? key : `${prefix}.${key}`;
}
