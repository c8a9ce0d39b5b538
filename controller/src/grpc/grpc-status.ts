import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { DomainError, type ErrorKind } from '../errors/domain-error';

const CODES: Record<ErrorKind, status> = {
  validation: status.INVALID_ARGUMENT,
  unauthenticated: status.UNAUTHENTICATED,
  forbidden: status.PERMISSION_DENIED,
  not_found: status.NOT_FOUND,
  conflict: status.ALREADY_EXISTS,
  edition: status.FAILED_PRECONDITION,
  precondition: status.FAILED_PRECONDITION,
  rate_limited: status.RESOURCE_EXHAUSTED,
  timeout: status.DEADLINE_EXCEEDED,
  unavailable: status.UNAVAILABLE,
};

export type GrpcError = Partial<ServiceError> & { code: status; details: string };

/**
 * The one place where errors become gRPC statuses. The message carries the field path; the
 * `field`, `error-code` (and, for rule errors, JSON `details`) trailers carry it for programs.
 */
export function toGrpcError(err: unknown, logger: Logger): GrpcError {
  if (err instanceof DomainError) {
    const metadata = new Metadata();
    metadata.set('error-code', err.code);
    if (err.field !== undefined) metadata.set('field', err.field);
    if (err.details.length > 0) metadata.set('details', JSON.stringify(err.details));
    return { code: CODES[err.kind], details: err.message, metadata };
  }
  logger.error({ err }, 'unhandled error in gRPC call');
  return { code: status.INTERNAL, details: 'internal error' };
}

/** Adapts a promise-returning handler to grpc-js's callback style, mapping errors once. */
export function unary<Req, Res>(logger: Logger, handler: (request: Req, metadata: Metadata) => Promise<Res>) {
  return (call: { request: Req; metadata: Metadata }, callback: (err: GrpcError | null, res?: Res) => void) => {
    handler(call.request, call.metadata).then(
      (res) => callback(null, res),
      (err: unknown) => callback(toGrpcError(err, logger)),
    );
  };
}

export function bearer(metadata: Metadata): string | undefined {
  const value = metadata.get('authorization')[0];
  return typeof value === 'string' ? /^Bearer\s+(\S+)$/i.exec(value)?.[1] : undefined;
}
