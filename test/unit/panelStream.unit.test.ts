// The bounded streams from the host to the views: the panels' coalescer and the Runs view's pacing.
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { throttle, UI_BEAT_MS, untilBeat } from '../../src/common/throttle';
import { TREE_REFRESH_MS, treeRefresher, VSCODE_TREE_DEBOUNCE_MS } from '../../src/views/treeRefresh';
import { Coalescer, type Clock } from '../../src/webviews/coalescer';

/** A clock driven by the test: timers run when `advance` passes their time. */
function fakeClock() {
  let now = 0;
  let timers: { at: number; fn: () => void; id: number }[] = [];
  let ids = 0;
  const clock: Clock = {
    now: () => now,
    setTimeout: (fn, ms) => {
      timers.push({ at: now + ms, fn, id: ++ids });
      return ids;
    },
    clearTimeout: (id) => (timers = timers.filter((t) => t.id !== id)),
  };
  const advance = async (ms: number) => {
    const end = now + ms;
    for (;;) {
      // Let async flushes settle (and schedule their follow-ups) before looking at the timers.
      for (let i = 0; i < 5; i++) await Promise.resolve();
      timers.sort((a, b) => a.at - b.at);
      const due = timers[0];
      if (!due || due.at > end) break;
      timers.shift();
      now = due.at;
      due.fn();
    }
    now = end;
  };
  return { clock, advance };
}

test('M changes over T ms make at most T / interval + 1 flushes, and the last change is flushed', async () => {
  const { clock, advance } = fakeClock();
  const flushedAt: number[] = [];
  let marked = 0;
  let delivered = 0;
  const coalescer = new Coalescer(() => {
    flushedAt.push(clock.now());
    delivered = marked;
  }, 100, clock);
  // 200 events a second for 3 s, one mark each.
  for (let i = 0; i < 600; i++) {
    marked++;
    coalescer.mark();
    await advance(5);
  }
  await advance(200);
  assert.ok(flushedAt.length <= 3000 / 100 + 1, `${flushedAt.length} flushes`);
  assert.ok(flushedAt.length >= 3000 / 100 - 1, 'and it keeps flushing while changes come');
  assert.equal(delivered, 600, 'nothing left behind');
  assert.equal(flushedAt[0], 0, 'the first change goes out at once');
  assert.ok(flushedAt.every((t, i) => i === 0 || t - flushedAt[i - 1] >= 90), 'about one interval apart');
  assert.ok(flushedAt.slice(1).every((t) => t % 100 === 0), `after the first, on the beats: ${flushedAt.slice(0, 6).join(',')}`);
  coalescer.dispose();
});

test('views started at different moments flush on the same beats, the Runs view one tree debounce ahead', () => {
  assert.equal(untilBeat(1_000, -Infinity), 0, 'after a quiet spell at once');
  assert.equal(untilBeat(1_010, 1_000), 240, 'then on the next beat (1,250)');
  assert.equal(untilBeat(1_100, 1_030), 400, 'a beat at least 0.9 · 250 ms after an off-beat flush (1,500)');
  assert.equal(untilBeat(1_100, 1_030, UI_BEAT_MS, -VSCODE_TREE_DEBOUNCE_MS), 200, 'the tree fires at 1,300 to render at 1,500');
  mock.timers.enable({ apis: ['setTimeout', 'Date'] } as unknown as Parameters<typeof mock.timers.enable>[0]);
  try {
    const fired: Record<string, number[]> = { bar: [], panel: [], tree: [] };
    const bar = throttle(() => fired.bar.push(Date.now()));
    const panel = throttle(() => fired.panel.push(Date.now()));
    const tree = treeRefresher(() => fired.tree.push(Date.now()));
    mock.timers.tick(1_037);
    for (let elapsed = 0; elapsed < 5_000; elapsed += 1) {
      if (elapsed % 5 === 0) bar();
      if (elapsed % 5 === 0 && elapsed >= 70) panel();
      if (elapsed % 5 === 0 && elapsed >= 130) tree();
      mock.timers.tick(1);
    }
    const later = (times: number[]) => times.filter((t) => t > 2_000);
    assert.deepEqual(later(fired.bar), later(fired.panel), 'status bar and panel on the same beats');
    assert.ok(later(fired.bar).every((t) => t % UI_BEAT_MS === 0), later(fired.bar).slice(0, 5).join(','));
    assert.deepEqual(later(fired.tree).map((t) => t + VSCODE_TREE_DEBOUNCE_MS), later(fired.bar).map((t) => t).filter((t) => t - VSCODE_TREE_DEBOUNCE_MS > 2_000), 'the tree renders on them');
    [bar, panel, tree].forEach((d) => d.dispose());
  } finally {
    mock.timers.reset();
  }
});

test('a slow flush holds the next one back instead of overlapping it', async () => {
  const { clock, advance } = fakeClock();
  let running = 0;
  let overlapped = false;
  let flushes = 0;
  let release: (() => void) | undefined;
  const coalescer = new Coalescer(async () => {
    flushes++;
    running++;
    overlapped ||= running > 1;
    await new Promise<void>((resolve) => (release = resolve));
    running--;
  }, 100, clock);
  coalescer.mark();
  await advance(0);
  for (let i = 0; i < 50; i++) {
    coalescer.mark();
    await advance(10);
  }
  assert.equal(flushes, 1, 'still waiting on the first');
  release?.();
  await advance(200);
  assert.equal(flushes, 2, 'everything since went out in one');
  release?.();
  await advance(200);
  assert.equal(overlapped, false);
  coalescer.dispose();
});

test('the Runs view fires at least every 500 ms under constant change, never within VS Code debounce', (t) => {
  // The options form (Node 20.11+); the installed @types/node still describes the older array form.
  mock.timers.enable({ apis: ['setTimeout', 'Date'] } as unknown as Parameters<typeof mock.timers.enable>[0]);
  t.after(() => mock.timers.reset());
  const fired: number[] = [];
  const refresh = treeRefresher(() => fired.push(Date.now()));
  // A run changing the tree every 100 ms for 10 s (the case where rows used to freeze).
  for (let elapsed = 0; elapsed < 10_000; elapsed += 100) {
    refresh();
    mock.timers.tick(100);
  }
  const gaps = fired.slice(1).map((at, i) => at - fired[i]);
  assert.ok(TREE_REFRESH_MS > VSCODE_TREE_DEBOUNCE_MS);
  assert.ok(gaps.every((g) => g > VSCODE_TREE_DEBOUNCE_MS), `each fire is the first of its debounce window: ${gaps.join(',')}`);
  assert.ok(gaps.every((g) => g <= 500), `at least twice a second: ${gaps.join(',')}`);
  assert.ok(fired.length >= 10_000 / 500);
  refresh.dispose();
});
