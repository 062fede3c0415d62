// How long this thread's event loop was held up while something ran: a 10 ms timer's largest delay, and
// that delay less the time Linux kept the thread waiting for a CPU (other processes' load, not blocking).
import * as fs from 'node:fs';

/** This thread's time on a CPU and waiting for one (ns), where Linux reports them. */
function schedstat(): [running: number, waiting: number] | undefined {
  try {
    const [running, waiting] = fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ').map(Number);
    return [running, waiting];
  } catch {
    return undefined;
  }
}

export interface Lag {
  maxLagMs: number;
  maxBlockedMs: number;
  ticks: number;
}

export function lagProbe(): { stop(): Lag } {
  let last = performance.now();
  let lastSched = schedstat();
  const lag: Lag = { maxLagMs: 0, maxBlockedMs: 0, ticks: 0 };
  const timer = setInterval(() => {
    const now = performance.now();
    const sched = schedstat();
    const late = now - last - 10;
    const waited = sched && lastSched ? (sched[1] - lastSched[1]) / 1e6 : 0;
    lag.maxLagMs = Math.max(lag.maxLagMs, late);
    lag.maxBlockedMs = Math.max(lag.maxBlockedMs, late - waited);
    lag.ticks += 1;
    last = now;
    lastSched = sched;
  }, 10);
  return {
    // Safe to call twice (the test's own call, then its after hook when an assertion failed first).
    stop() {
      clearInterval(timer);
      return { ...lag };
    },
  };
}
