import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { DomainError, type ErrorKind } from '../errors/domain-error';

const STATUS: Record<ErrorKind, number> = {
  validation: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  edition: 422,
  precondition: 409,
  rate_limited: 429,
  timeout: 504,
  unavailable: 503,
};

/**
 * The one place where errors become HTTP responses: `{error:{code, message, field?, details[]}}`
 * (docs/http-api.md). Anything that is not a domain error is logged and answered 500 without
 * internals.
 */
@Catch()
export class DomainExceptionFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const [status, body] = this.toResponse(exception);
    if (exception instanceof DomainError && exception.retryAfterS !== undefined) void reply.header('retry-after', String(exception.retryAfterS));
    void reply.status(status).send({ error: body });
  }

  private toResponse(exception: unknown): [number, object] {
    if (exception instanceof DomainError) {
      return [
        STATUS[exception.kind],
        {
          code: exception.code,
          message: exception.message,
          ...(exception.field !== undefined && { field: exception.field }),
          details: exception.details.map((d) => ({ ruleIndex: d.ruleIndex ?? null, ruleId: d.ruleId ?? null, field: d.field, code: d.code, message: d.message })),
        },
      ];
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const code = status === 404 ? 'NOT_FOUND' : status === 413 ? 'PAYLOAD_TOO_LARGE' : status < 500 ? 'BAD_REQUEST' : 'INTERNAL';
      return [status, { code, message: exception.message, details: [] }];
    }
    // Fastify's own client errors (malformed JSON, wrong content type, body too large).
    const fastifyStatus = (exception as { statusCode?: number })?.statusCode;
    if (typeof fastifyStatus === 'number' && fastifyStatus >= 400 && fastifyStatus < 500) {
      return [fastifyStatus, { code: 'BAD_REQUEST', message: (exception as Error).message, field: 'body', details: [] }];
    }
    this.logger.error({ err: exception }, 'unhandled error in HTTP request');
    return [500, { code: 'INTERNAL', message: 'internal error', details: [] }];
  }
}
