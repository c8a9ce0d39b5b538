import { ApiError } from '@/api/api-error';

/** A failed save split into messages per field path (`selector.localPort`) and the rest. */
export interface SaveProblems {
  byField: Record<string, string>;
  general: string[];
}

export function problemsOf(error: unknown, knownFields: ReadonlySet<string>): SaveProblems {
  const byField: Record<string, string> = {};
  const general: string[] = [];
  if (error instanceof ApiError && error.details.length > 0) {
    for (const detail of error.details) {
      const field = detail.field.replace(/^rule\./, '');
      if (knownFields.has(field)) byField[field] = byField[field] ? `${byField[field]}; ${detail.message}` : detail.message;
      else general.push(detail.field ? `${detail.field}: ${detail.message}` : detail.message);
    }
  } else {
    general.push(error instanceof Error ? error.message : String(error));
  }
  return { byField, general };
}
