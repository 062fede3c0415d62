/**
 * Calls `fn` at once, then at most once per `ms` while calls keep coming (the last one is never
 * dropped): a run logging 1,000 events/s must not re-render the tree 1,000 times a second.
 */
export function throttle(fn: () => void, ms: number): { (): void; dispose(): void } {
  let last = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  const run = () => {
    timer = undefined;
    last = Date.now();
    fn();
  };
  const call = () => {
    if (timer) return;
    const wait = last + ms - Date.now();
    if (wait <= 0) run();
    else timer = setTimeout(run, wait);
  };
  call.dispose = () => clearTimeout(timer);
  return call;
}
