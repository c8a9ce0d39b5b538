/**
 * The setup every data plane test file shares: one namespace topology for the file (the tag keeps
 * files running at once apart), and the processes a test starts, stopped after it.
 */
import { createTopology, destroyTopology, NsProcess, STARTUP_MS, type Topology } from './netns';

export interface Plane {
  /** Set once the file's beforeAll built it. */
  readonly topo: Topology;
  /** What the current test started; stopped after it. */
  readonly running: NsProcess[];
  /** Starts `args` in `ns` and waits for its `ready` line. */
  start(ns: string, args: string[], ready?: string): Promise<NsProcess>;
}

/** Registers the file's hooks; `prepare` adjusts the fresh topology (e.g. sysctls). */
export function usePlane(tag: string, prepare?: (topo: Topology) => Promise<void>): Plane {
  const running: NsProcess[] = [];
  let topo: Topology | undefined;

  beforeAll(async () => {
    topo = await createTopology(`${tag}${process.pid % 10000}`);
    await prepare?.(topo);
  }, 60_000);

  afterEach(async () => {
    for (const p of running.splice(0)) await p.stop();
  });

  afterAll(async () => {
    if (topo) await destroyTopology(topo.names);
  });

  return {
    get topo(): Topology {
      if (!topo) throw new Error('the topology is made in beforeAll');
      return topo;
    },
    running,
    async start(ns, args, ready = 'listening') {
      const p = new NsProcess(ns, args);
      running.push(p);
      await p.next(ready, STARTUP_MS);
      return p;
    },
  };
}
