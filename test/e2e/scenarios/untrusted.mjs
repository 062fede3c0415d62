// Restricted Mode: with workspace trust on and the folder not trusted, starting a run (▶ Run lens and
// the palette's Start Run) is refused with the reason and the way out, and no run folder appears.
// The shared code-server runs with trust disabled, so this scenario starts its own, trust-enabled one
// on a copy of the workspace that it never trusts.
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot, sleep, startCodeServer } from '../codeServer.mjs';
import { runFolders, stopTrainers } from '../trainers.mjs';
import { clickWithRetry, dismissNotifications, notificationTexts, quickOpenFile, runCommand, selectors, waitFor, waitForWorkbench } from '../workbench.mjs';

const CONFIG_FILE = 'demo.sft.yaml';
const REFUSAL = 'SFT Studio: starting a run executes Python code from this workspace, so it needs a trusted workspace. Trust this folder, then start the run again.';
const MANAGE_TRUST = 'Manage Workspace Trust';

/** Waits for the refusal toast and checks it offers the way out. */
async function expectRefusal(page) {
  const toast = page.locator('.notifications-toasts .notification-toast', { hasText: REFUSAL }).first();
  await waitFor(() => toast.isVisible(), {
    timeoutMs: 30_000,
    describe: async () => `the refusal notification (shown: ${(await notificationTexts(page)).join(' | ') || 'none'})`,
  });
  const buttons = (await toast.locator('.monaco-button').allInnerTexts()).map((b) => b.trim());
  if (!buttons.includes(MANAGE_TRUST)) throw new Error(`the refusal offers [${buttons.join(', ')}], not "${MANAGE_TRUST}"`);
  return toast;
}

export default {
  name: 'untrusted workspace refuses to run',
  timeoutMs: 4 * 60_000,
  async run({ page, workspace, screenshot, step }) {
    const session = path.dirname(workspace);
    const untrusted = path.join(session, 'untrusted-workspace');
    const runsRoot = path.join(untrusted, 'runs');
    fs.rmSync(untrusted, { recursive: true, force: true });
    fs.cpSync(workspace, untrusted, { recursive: true, filter: (src) => src !== path.join(workspace, 'runs') });

    step('start a code-server with workspace trust on');
    // The Python and overrides that would train if the gate let the run through, so a missing gate
    // shows up as a run folder, not merely as a different error.
    const server = await startCodeServer({
      stateDir: path.join(session, 'code-server-trust'),
      workspaceTrust: true,
      settings: {
        'security.workspace.trust.enabled': true,
        'security.workspace.trust.startupPrompt': 'never',
        'security.workspace.trust.emptyWindow': false,
        'sftStudio.pythonPath': path.join(repoRoot, '.venv', 'bin', 'python'),
        'sftStudio.runOverrides': ['max_steps=2'],
      },
    });
    try {
      step('open the workspace copy in Restricted Mode');
      await page.goto(server.folderUrl(untrusted));
      await waitForWorkbench(page);
      await page
        .locator('.statusbar-item', { hasText: 'Restricted Mode' })
        .first()
        .waitFor({ state: 'visible', timeout: 30_000 });

      step(`click "▶ Run" on ${CONFIG_FILE}`);
      await quickOpenFile(page, CONFIG_FILE);
      const runLens = () => page.locator(selectors.codeLens).filter({ hasText: /^[^A-Za-z]*Run\b/ });
      await clickWithRetry(runLens, { timeoutMs: 90_000, describe: 'code lens "▶ Run"' });

      step('the run is refused with the reason');
      await expectRefusal(page);
      await screenshot('untrusted-refused.png');

      step('"SFT Studio: Start Run" from the palette is refused the same way');
      await dismissNotifications(page);
      await waitFor(async () => (await notificationTexts(page)).length === 0, { timeoutMs: 10_000, describe: 'the notifications to close' });
      await runCommand(page, 'SFT Studio: Start Run');
      const toast = await expectRefusal(page);

      step(`"${MANAGE_TRUST}" opens the workspace trust editor`);
      await toast.locator('.monaco-button', { hasText: MANAGE_TRUST }).click();
      // The trust editor opens as a tab or, in newer workbenches, as a modal editor: find its heading.
      await page.getByText('You are in Restricted Mode', { exact: true }).first().waitFor({ state: 'visible', timeout: 20_000 });

      step('no run folder was created');
      // A start that got past the gate would have made its folder within a second or two.
      await sleep(2000);
      const created = runFolders(runsRoot);
      if (created.length > 0) throw new Error(`run folders appeared in Restricted Mode: ${created.join(', ')}`);
    } finally {
      await server.stop();
      await stopTrainers(runFolders(runsRoot));
    }
  },
};
