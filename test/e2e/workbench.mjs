// Playwright helpers for driving the VS Code workbench served by code-server. Selectors are the
// workbench's own DOM classes; each helper waits and retries, because the workbench re-renders lists,
// lenses and toasts asynchronously and a click can land on an element that is being replaced.
import { sleep } from './codeServer.mjs';

export const selectors = {
  workbench: '.monaco-workbench',
  quickInput: '.quick-input-widget input[type="text"]',
  quickInputRow: '.quick-input-list .monaco-list-row',
  codeLens: '.monaco-editor .codelens-decoration a',
  treeRow: '.pane-body .monaco-list-row',
  notification: '.notifications-toasts .notification-list-item-message',
  webview: 'iframe.webview.ready',
};

/** Polls `probe` until it returns a truthy value; throws `describe()` after the timeout. */
export async function waitFor(probe, { timeoutMs = 30_000, intervalMs = 250, describe = () => 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const why = typeof describe === 'function' ? await describe() : describe;
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${why}${lastError ? ` (last error: ${lastError.message})` : ''}`);
    }
    await sleep(intervalMs);
  }
}

/** Clicks the first element `locate()` finds, retrying while the element is replaced or covered. */
export async function clickWithRetry(locate, { timeoutMs = 30_000, describe = 'element' } = {}) {
  await waitFor(
    async () => {
      const target = locate().first();
      if (!(await target.isVisible())) return false;
      await target.click({ timeout: 3000 });
      return true;
    },
    { timeoutMs, describe: `a clickable ${describe}` },
  );
}

/**
 * Right-clicks `target` and clicks the context-menu item `itemText`, until the menu closes (the item ran).
 * The workbench ignores a menu item's mouse-up for its first 100 ms (a timer that a busy page runs late,
 * while input is handled first), so a quick click can be lost: wait a moment, click, and try again if the
 * menu is still open.
 */
export async function contextMenuItem(page, target, itemText, { timeoutMs = 30_000 } = {}) {
  const menu = page.locator('.monaco-menu').first();
  await waitFor(
    async () => {
      if (await menu.isVisible()) await page.keyboard.press('Escape');
      await target.click({ button: 'right', timeout: 3000 });
      const item = page.locator('.monaco-menu .action-item', { hasText: itemText }).first();
      await item.waitFor({ state: 'visible', timeout: 5000 });
      await page.waitForTimeout(300);
      await item.click({ timeout: 3000 });
      return menu.waitFor({ state: 'hidden', timeout: 2000 }).then(() => true, () => false);
    },
    { timeoutMs, describe: `"${itemText}" from the context menu` },
  );
}

export async function waitForWorkbench(page, timeoutMs = 90_000) {
  await page.locator(selectors.workbench).waitFor({ state: 'visible', timeout: timeoutMs });
  // The explorer or status bar appearing means the workbench finished its first layout.
  await page.locator('.statusbar').waitFor({ state: 'visible', timeout: timeoutMs });
}

/** Closes notification toasts, which otherwise sit over the bottom-right of the editor. */
export async function dismissNotifications(page) {
  const toasts = page.locator('.notifications-toasts .notification-toast');
  const count = await toasts.count();
  for (let i = 0; i < count; i++) {
    const close = toasts.nth(i).locator('.codicon-notifications-clear, .codicon-close').first();
    if (await close.isVisible().catch(() => false)) await close.click({ timeout: 1000 }).catch(() => {});
  }
}

export async function notificationTexts(page) {
  return page.locator(selectors.notification).allInnerTexts().catch(() => []);
}

async function openQuickInput(page, keys) {
  const input = page.locator(selectors.quickInput);
  await waitFor(
    async () => {
      if (await input.isVisible()) return true;
      await page.keyboard.press(keys);
      await input.waitFor({ state: 'visible', timeout: 2000 });
      return true;
    },
    { timeoutMs: 20_000, describe: `the quick input (${keys})` },
  );
  return input;
}

/**
 * Opens the quick input with `keys` and types `text`, again while it fails: a quick input still closing
 * (the one that ran the previous command) counts as open, then goes before the text is in.
 */
async function typeIntoQuickInput(page, keys, text) {
  await waitFor(
    async () => {
      const input = await openQuickInput(page, keys);
      return input.fill(text, { timeout: 2000 }).then(
        () => true,
        () => false,
      );
    },
    { timeoutMs: 30_000, describe: `"${text}" typed into the quick input (${keys})` },
  );
}

/** Picks the row whose text matches `rowText` in the open quick input, else the first row. */
async function acceptQuickInputRow(page, rowText, describe, timeoutMs = 20_000) {
  await waitFor(
    async () => {
      const rows = page.locator(selectors.quickInputRow, rowText ? { hasText: rowText } : {});
      if ((await rows.count()) === 0) return false;
      await rows.first().click({ timeout: 3000 });
      return true;
    },
    { timeoutMs, describe },
  );
}

/** Ctrl+P, type a file name, open the matching result. */
export async function quickOpenFile(page, fileName) {
  await typeIntoQuickInput(page, 'Control+P', fileName);
  await acceptQuickInputRow(page, fileName, `"${fileName}" in quick open`);
  await page
    .locator(`.tabs-container .tab[aria-label*="${fileName}"]`)
    .first()
    .waitFor({ state: 'visible', timeout: 20_000 });
}

/** Clicks the editor tab whose label starts with `labelStart` (e.g. "Tokens:"), so its editor is shown. */
export async function showTab(page, labelStart) {
  await clickWithRetry(() => page.locator('.tabs-container .tab', { hasText: labelStart }), { describe: `editor tab "${labelStart}…"` });
}

/** Runs a command by its palette title, e.g. "SFT Studio: Open Dashboard". */
export async function runCommand(page, title) {
  await typeIntoQuickInput(page, 'F1', `>${title}`);
  await acceptQuickInputRow(page, title, `"${title}" in the command palette`);
}

/** If a quick pick is open (e.g. "Run to show"), chooses the row containing `rowText`. */
export async function answerQuickPick(page, rowText, timeoutMs = 5000, acceptTimeoutMs = 20_000) {
  const input = page.locator(selectors.quickInput);
  const appeared = await input.waitFor({ state: 'visible', timeout: timeoutMs }).then(() => true, () => false);
  if (!appeared) return false;
  await acceptQuickInputRow(page, rowText, `"${rowText}" in the quick pick`, acceptTimeoutMs);
  return true;
}

/**
 * Runs a palette command that asks for a row of its quick pick and picks the row containing `rowText`; from the
 * start again when the quick pick closes first. A quick input closes when it loses the focus, and a webview panel
 * the window restored takes the focus when its page is ready, which on a busy machine is seconds after the window
 * opened: "element is not visible" for the row of a quick pick that had just shown it.
 */
export async function pickFromCommand(page, title, rowText, { timeoutMs = 60_000 } = {}) {
  await waitFor(
    async () => {
      await runCommand(page, title);
      const picked = await answerQuickPick(page, rowText, 5000, 8000).catch(() => false);
      if (!picked) await page.keyboard.press('Escape');
      return picked;
    },
    { timeoutMs, describe: `"${rowText}" picked after "${title}"` },
  );
}

/** Shows an activity bar view container (clicking an already shown one would hide it). */
export async function showViewContainer(page, label) {
  const item = page.locator(`.activitybar .action-item:has(a[aria-label^="${label}"])`).first();
  await waitFor(
    async () => {
      if (!(await item.isVisible())) return false;
      if (/\bchecked\b/.test((await item.getAttribute('class')) ?? '')) return true;
      await item.locator('a').first().click({ timeout: 3000 });
      return /\bchecked\b/.test((await item.getAttribute('class')) ?? '');
    },
    { timeoutMs: 60_000, describe: `the "${label}" activity bar container` },
  );
}

/** The frame of the webview whose document contains `selector` (webviews nest two iframes deep). */
export async function webviewContaining(page, selector, { timeoutMs = 60_000 } = {}) {
  return waitFor(
    async () => {
      const frames = page.locator(selectors.webview);
      const count = await frames.count();
      for (let i = count - 1; i >= 0; i--) {
        const inner = frames.nth(i).contentFrame().frameLocator('iframe#active-frame');
        if ((await inner.locator(selector).count()) > 0) return inner;
      }
      return undefined;
    },
    { timeoutMs, describe: `a webview containing ${selector}` },
  );
}

/**
 * The Playwright Frame (not a FrameLocator) of the webview page whose document contains `selector`,
 * for what needs a frame: evaluate() in the page, e.g. to listen to the messages the host posts.
 */
export async function webviewFrame(page, selector, { timeoutMs = 60_000 } = {}) {
  return waitFor(
    async () => {
      for (const frame of page.frames()) {
        if (frame.isDetached()) continue;
        if ((await frame.locator(selector).count().catch(() => 0)) > 0) return frame;
      }
      return undefined;
    },
    { timeoutMs, describe: `a webview frame containing ${selector}` },
  );
}
