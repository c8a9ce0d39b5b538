import pino, { type Logger } from 'pino';

/** One JSON line per event on stderr (stdout carries only the PORTFLEET_AGENT_* lines). */
export function createLogger(level = process.env.PORTFLEET_AGENT_LOG_LEVEL ?? 'info'): Logger {
  return pino(
    { name: 'portfleet-agent', level, timestamp: pino.stdTimeFunctions.isoTime, base: { pid: process.pid } },
    pino.destination({ fd: 2, sync: true }),
  );
}

/** A line for the supervising process (scripts and tests wait for these on stdout). */
export function announce(line: string): void {
  process.stdout.write(`${line}\n`);
}
