/** One offending field as the controller names it (`selector.localPort`, `username` …). */
export interface FieldProblem {
  field: string;
  code: string;
  message: string;
  ruleIndex?: number | null;
  ruleId?: string | null;
}

/** A failed API call: HTTP status plus the controller's error body (docs/http-api.md). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: FieldProblem[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }

  static async fromResponse(response: Response): Promise<ApiError> {
    const text = await response.text();
    try {
      const body = JSON.parse(text) as { error?: { code?: string; message?: string; details?: FieldProblem[] } };
      if (body.error) {
        return new ApiError(
          response.status,
          body.error.code ?? `HTTP_${response.status}`,
          body.error.message ?? response.statusText,
          Array.isArray(body.error.details) ? body.error.details : [],
        );
      }
    } catch {
      // Not the controller's JSON (a proxy error page, say): fall through to the status text.
    }
    return new ApiError(response.status, `HTTP_${response.status}`, text.trim() || response.statusText || `HTTP ${response.status}`);
  }
}

/** A human message for anything a call may throw. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
