/**
 * Turns a stream of "something changed" into reloads: the first change waits `settleMs` (a burst
 * of events reloads once), reloads start at least `intervalMs` apart, and never two at once (a
 * reload slower than the interval is followed by one more, not by a pile of them). A change seen
 * while a reload runs makes exactly one more.
 */
export function refreshThrottle(run: () => Promise<void>, intervalMs: number, settleMs: number, now: () => number = Date.now) {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let running = false;
  let wanted = false;
  let lastStart = -Infinity;

  const schedule = () => {
    if (timer || running || !wanted) return;
    const delay = Math.max(settleMs, lastStart + intervalMs - now());
    timer = setTimeout(() => {
      timer = null;
      wanted = false;
      running = true;
      lastStart = now();
      run().catch(() => undefined).finally(() => {
        running = false;
        schedule();
      });
    }, delay);
  };

  return {
    /** Something changed: reload soon. */
    request(): void {
      wanted = true;
      schedule();
    },
    /** Nothing more (a reload running finishes; none follows). */
    cancel(): void {
      wanted = false;
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
