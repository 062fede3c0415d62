// One beat for every view that follows a live run. The status bar, the Runs view and each panel flush
// at most once per UI_BEAT_MS, on the same multiples of the clock, so a fast run's changes reach the
// workbench together: every visible change costs the browser a commit of the workbench's whole layer
// tree (about 10 ms each in code-server without a GPU), and three views ticking on their own phases
// cost three commits where one would do (bench/README.md, editor scale).

export const UI_BEAT_MS = 250;

/**
 * How long to wait before flushing, given the last flush: nothing after a quiet spell (the first change
 * shows at once), else until the next beat (`now ≡ phase (mod ms)`) at least 0.9 · ms after the last
 * flush, so flushes stay about `ms` apart and fall on the shared beats (0.9 · 250 ms still exceeds VS Code's
 * 200 ms tree debounce).
 */
export function untilBeat(now: number, last: number, ms = UI_BEAT_MS, phase = 0): number {
  if (now - last >= ms) return 0;
  const earliest = last + 0.9 * ms;
  const beat = Math.ceil((earliest - phase) / ms) * ms + phase;
  return Math.max(0, beat - now);
}

/**
 * Calls `fn` at once, then at most once per beat while calls keep coming (the last one is never
 * dropped): a run logging 1,000 events/s must not re-render the tree 1,000 times a second. `phase`
 * shifts this caller's beats (the Runs view fires ahead of them by VS Code's own tree debounce).
 */
export function throttle(fn: () => void, ms = UI_BEAT_MS, phase = 0): { (): void; dispose(): void } {
  let last = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  const run = () => {
    timer = undefined;
    last = Date.now();
    fn();
  };
  const call = () => {
    if (timer) return;
    const wait = untilBeat(Date.now(), last, ms, phase);
    if (wait <= 0) run();
    else timer = setTimeout(run, wait);
  };
  call.dispose = () => clearTimeout(timer);
  return call;
}
