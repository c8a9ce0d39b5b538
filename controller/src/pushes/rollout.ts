import { ValidationError } from '../errors/domain-error';
import type { PushTargetState } from '../generated/prisma/client';

/** A staged rollout: cumulative percentages of the targets per wave, and when to halt. */
export interface Rollout {
  waves: number[];
  maxFailurePercent: number;
}

export function parseRollout(input: unknown): Rollout | undefined {
  if (input === undefined || input === null) return undefined;
  if (typeof input !== 'object' || Array.isArray(input)) throw new ValidationError('rollout', 'INVALID_TYPE', 'must be an object {waves, maxFailurePercent?}');
  const { waves, maxFailurePercent = 0 } = input as { waves?: unknown; maxFailurePercent?: unknown };
  if (!Array.isArray(waves) || waves.length === 0 || waves.length > 20) throw new ValidationError('rollout.waves', 'INVALID_TYPE', 'must be an array of 1-20 percentages');
  waves.forEach((w, i) => {
    const previous = i === 0 ? 0 : (waves[i - 1] as number);
    if (typeof w !== 'number' || !Number.isInteger(w) || w <= previous || w > 100) {
      throw new ValidationError(`rollout.waves[${i}]`, 'OUT_OF_RANGE', `must be an integer above ${previous} and at most 100 (cumulative percentages)`);
    }
  });
  if (waves[waves.length - 1] !== 100) throw new ValidationError(`rollout.waves[${waves.length - 1}]`, 'OUT_OF_RANGE', 'the last wave must be 100 (every target)');
  if (typeof maxFailurePercent !== 'number' || !Number.isInteger(maxFailurePercent) || maxFailurePercent < 0 || maxFailurePercent > 100) {
    throw new ValidationError('rollout.maxFailurePercent', 'OUT_OF_RANGE', 'must be an integer 0-100');
  }
  return { waves: waves as number[], maxFailurePercent };
}

/** The wave of each of `count` targets (in order); every wave gets at least one while targets last. */
export function assignWaves(count: number, waves: readonly number[]): number[] {
  const result: number[] = [];
  let end = 0;
  waves.forEach((percent, wave) => {
    const cut = Math.min(count, Math.max(Math.ceil((count * percent) / 100), end + 1));
    for (; end < cut; end++) result.push(wave);
  });
  return result;
}

export type RolloutStep = 'wait' | 'halt' | 'next' | 'complete';

/** Targets in one state and wave; `count` (default 1) lets callers pass grouped counts. */
export interface TargetCount {
  state: PushTargetState;
  wave: number;
  count?: number;
}

const UNFINISHED: readonly PushTargetState[] = ['waiting', 'pending', 'delivered'];

/**
 * What a running push does next, given its targets: wait for answers, halt (failed targets of the
 * wave just finished exceed the threshold, and waves remain), release the next wave, or complete.
 * Each wave is judged on its own, so resuming accepts the failures that halted it.
 */
export function rolloutStep(targets: readonly TargetCount[], waveCount: number, currentWave: number, maxFailurePercent: number): RolloutStep {
  const sum = (rows: readonly TargetCount[]) => rows.reduce((n, t) => n + (t.count ?? 1), 0);
  if (waveCount === 0) return targets.some((t) => UNFINISHED.includes(t.state)) ? 'wait' : 'complete';
  if (targets.some((t) => t.wave <= currentWave && (t.state === 'pending' || t.state === 'delivered'))) return 'wait';
  if (currentWave >= waveCount - 1) return 'complete';
  const wave = targets.filter((t) => t.wave === currentWave && t.state !== 'cancelled' && t.state !== 'superseded');
  const failed = sum(wave.filter((t) => t.state === 'failed'));
  return failed > 0 && failed * 100 > maxFailurePercent * sum(wave) ? 'halt' : 'next';
}
