/**
 * bench:push's durability watcher, on its own thread so that the simulator's event loop (10,000
 * agents validating rule sets) cannot delay it: counts the targets committed as applied every
 * `pollMs` and reports each new count with the time it was seen. The k-th agent's durable time is
 * the first report with count >= k (an upper bound by one poll plus the query time).
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { Client } from 'pg';

export interface DurableCount {
  count: number;
  atMs: number;
}

interface Options {
  connectionString: string;
  pollMs: number;
  until: number;
}

/** Starts watching now; `stop()` ends it and returns every count seen, in order. */
export function watchDurable(options: Options): { stop(): Promise<DurableCount[]>; latest(): number } {
  const worker = new Worker(__filename, { workerData: options });
  const counts: DurableCount[] = [];
  const ended = new Promise<void>((resolve, reject) => {
    worker.on('message', (c: DurableCount | 'done') => {
      if (c !== 'done') counts.push(c);
      else void worker.terminate().then(() => resolve());
    });
    worker.on('error', reject);
    worker.on('exit', () => resolve());
  });
  return {
    latest: () => counts.at(-1)?.count ?? 0,
    stop: async () => {
      worker.postMessage('stop');
      await ended;
      return counts;
    },
  };
}

/** Per agent, ms from `t0` until its target was seen durable (one value per agent counted). */
export function durableTimes(counts: readonly DurableCount[], t0: number): number[] {
  const times: number[] = [];
  for (const c of counts) while (times.length < c.count) times.push(c.atMs - t0);
  return times;
}

async function watch({ connectionString, pollMs, until }: Options): Promise<void> {
  const db = new Client({ connectionString });
  await db.connect();
  let stopped = false;
  parentPort!.on('message', () => (stopped = true));
  let last = 0;
  try {
    while (!stopped && last < until) {
      const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM push_targets WHERE state = 'applied'`);
      const atMs = Date.now();
      if (rows[0]!.n !== last) parentPort!.postMessage({ count: (last = rows[0]!.n), atMs } satisfies DurableCount);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  } finally {
    await db.end();
    parentPort!.postMessage('done');
  }
}

if (!isMainThread) void watch(workerData as Options);
