import { spawn, type ChildProcess } from 'node:child_process';

/**
 * A child process of a test (controller, agent, console) whose output is kept so tests can wait for
 * the readiness lines the programs print, and which is always stopped when the test ends.
 */
export class Service {
  readonly output: string[] = [];
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;
  private waiters: Array<{ pattern: RegExp; resolve: (m: RegExpMatchArray) => void }> = [];

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    options: { cwd?: string; env?: NodeJS.ProcessEnv },
  ) {
    this.child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(this);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        live.delete(this);
        this.output.push(`[${name} exited code=${code} signal=${signal}]`);
        resolve(code);
      });
    });
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        this.output.push(line);
        if (process.env.PORTFLEET_TEST_VERBOSE) process.stderr.write(`[${name}] ${line}\n`);
        this.waiters = this.waiters.filter((w) => {
          const m = line.match(w.pattern);
          if (m) w.resolve(m);
          return !m;
        });
      }
    };
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with the first line (already printed or future) matching `pattern`. */
  waitFor(pattern: RegExp, timeoutMs = 60_000, { fromLine = 0 } = {}): Promise<RegExpMatchArray> {
    for (const line of this.output.slice(fromLine)) {
      const m = line.match(pattern);
      if (m) return Promise.resolve(m);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`${this.name}: timed out waiting for ${pattern}; output:\n${this.tail()}`));
      }, timeoutMs);
      const done = (m: RegExpMatchArray) => {
        clearTimeout(timer);
        resolve(m);
      };
      this.waiters.push({ pattern, resolve: done });
      void this.exited.then((code) => {
        if (this.waiters.some((w) => w.resolve === done)) {
          clearTimeout(timer);
          reject(new Error(`${this.name} exited (${code}) before ${pattern}; output:\n${this.tail()}`));
        }
      });
    });
  }

  tail(lines = 60): string {
    return this.output.slice(-lines).join('\n');
  }

  /** Waits for the process to end by itself; kills it after `timeoutMs`. Resolves with the exit code. */
  async exit(timeoutMs = 30_000): Promise<number | null> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  /** SIGTERM, then SIGKILL if it does not exit in time. Resolves with the exit code. */
  async stop(timeoutMs = 15_000): Promise<number | null> {
    if (!this.running) return this.exited;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  async kill(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }
}

const live = new Set<Service>();
process.once('exit', () => {
  for (const service of live) service['child'].kill('SIGKILL');
});
