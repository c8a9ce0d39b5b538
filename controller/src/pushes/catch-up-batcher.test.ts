import type { Agent } from '../generated/prisma/client';
import { CATCH_UP_BATCH_SIZE, CatchUpBatcher } from './catch-up-batcher';

const agent = (id: string) => ({ id }) as Agent;

it('Hellos arriving together are caught up in one batch, each answered with its own push', async () => {
  const batches: string[][] = [];
  const batcher = new CatchUpBatcher(async (agents) => {
    batches.push(agents.map((a) => a.id));
    return new Map([['a', 'push-1']]);
  });
  const answers = await Promise.all([batcher.take(agent('a')), batcher.take(agent('b')), batcher.take(agent('a'))]);
  expect(answers).toEqual(['push-1', undefined, 'push-1']);
  expect(batches).toEqual([['a', 'b']]); // the agent that said Hello twice is caught up once
});

it('a full batch goes at once; the rest follows in the next', async () => {
  const sizes: number[] = [];
  const batcher = new CatchUpBatcher(async (agents) => {
    sizes.push(agents.length);
    return new Map();
  });
  await Promise.all(Array.from({ length: CATCH_UP_BATCH_SIZE + 3 }, (_, i) => batcher.take(agent(`agent-${i}`))));
  expect(sizes).toEqual([CATCH_UP_BATCH_SIZE, 3]);
});

it('a batch that fails rejects every Hello in it', async () => {
  const batcher = new CatchUpBatcher(async () => {
    throw new Error('database gone');
  });
  const results = await Promise.allSettled([batcher.take(agent('a')), batcher.take(agent('b'))]);
  expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
});
