/** The staged-rollout options as the form holds them. */
export interface RolloutDraft {
  staged: boolean;
  waves: string;
  maxFailurePercent: string;
}

export const DEFAULT_ROLLOUT: RolloutDraft = { staged: false, waves: '10, 50, 100', maxFailurePercent: '0' };

/**
 * "10, 50, 100" → the request's rollout; anything that is not a number goes as typed so the
 * controller's validation names the field. Not staged → no rollout (all targets at once).
 */
export function rolloutOf(draft: RolloutDraft): { waves: number[]; maxFailurePercent?: number } | undefined {
  if (!draft.staged) return undefined;
  const num = (text: string) => (/^\d+(\.\d+)?$/.test(text.trim()) ? Number(text.trim()) : (text.trim() as unknown as number));
  const waves = draft.waves.split(',').map((w) => w.trim()).filter(Boolean).map(num);
  const max = draft.maxFailurePercent.trim();
  return max === '' ? { waves } : { waves, maxFailurePercent: num(max) };
}
