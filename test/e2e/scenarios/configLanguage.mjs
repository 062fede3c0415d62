// Config language support in the real editor: a typo'd key gets a squiggle at its exact line and
// column, the "did you mean" quick fix repairs it, hover shows the schema's documentation and
// completion offers the schema's fields. Also checks the config lenses are there.
import fs from 'node:fs';
import path from 'node:path';
import { quickOpenFile, selectors, waitFor, waitForWorkbench } from '../workbench.mjs';

const FILE = 'typo.sft.yaml';
// Line 3 holds the typo: "learnign_rate" starting at column 1.
/** The editor's text; the editor renders spaces as no-break spaces. */
async function editorText(page) {
  return (await page.locator('.monaco-editor .view-lines').innerText()).replace(/\u00a0/g, ' ');
}

const TEXT = ['model_name_or_path: tiny-llama', 'train_file: data/instruct_train.jsonl', 'learnign_rate: 1.0e-4', 'max_length: 64', ''].join('\n');

export default {
  name: 'config language support',
  timeoutMs: 3 * 60_000,
  async run({ page, server, workspace, screenshot, step }) {
    const file = path.join(workspace, FILE);
    fs.writeFileSync(file, TEXT);
    try {
      step('open the workbench and the config with a typo');
      await page.goto(server.folderUrl(workspace));
      await waitForWorkbench(page);
      await quickOpenFile(page, FILE);

      step('the config lenses are shown');
      await waitFor(
        async () => {
          const titles = (await page.locator(selectors.codeLens).allInnerTexts()).map((t) => t.trim());
          return ['Run', 'Dry run', 'Validate', 'Estimate memory'].every((want) => titles.some((t) => t.endsWith(want)));
        },
        { timeoutMs: 60_000, describe: async () => `lenses ▶ Run, Dry run, Validate, Estimate memory (have: ${(await page.locator(selectors.codeLens).allInnerTexts()).join(', ')})` },
      );

      step('the squiggle and its problem sit at line 3, column 1');
      const squiggle = page.locator('.monaco-editor .squiggly-error');
      await squiggle.first().waitFor({ state: 'visible', timeout: 30_000 });
      await page.keyboard.press('F8'); // next problem: the editor shows its message in a peek with the position
      const marker = page.locator('.marker-widget');
      await marker.waitFor({ state: 'visible', timeout: 10_000 });
      const markerText = (await marker.innerText()).replace(/\s+/g, ' ');
      if (!markerText.includes('unknown field "learnign_rate"; did you mean "learning_rate"?')) throw new Error(`unexpected problem text: ${markerText}`);
      // The status bar follows the cursor a moment after the peek opens.
      let cursor = '';
      await waitFor(
        async () => {
          cursor = await page.locator('.statusbar [id="status.editor.selection"]').innerText();
          return /Ln 3, Col 1\b/.test(cursor);
        },
        { timeoutMs: 5000, describe: () => `F8 to move to the problem at Ln 3, Col 1 (status bar: "${cursor}")` },
      );
      await screenshot('config-typo.png');
      await page.keyboard.press('Escape');

      step('the quick fix replaces the key');
      const fixed = async () => (await editorText(page)).includes('learning_rate: 1.0e-4');
      if (await fixed()) throw new Error('the typo was fixed before the quick fix was chosen');
      const fix = page.locator('.action-widget', { hasText: 'Change to "learning_rate"' }).getByText('Change to "learning_rate"');
      // Ctrl+. can land while the peek is still closing and be lost; ask again until the menu shows.
      await waitFor(
        async () => {
          if (await fix.first().isVisible()) return true;
          await page.keyboard.press('Control+.');
          return fix.first().waitFor({ state: 'visible', timeout: 3000 }).then(() => true, () => false);
        },
        { timeoutMs: 20_000, describe: 'the quick fix menu with "Change to \"learning_rate\""' },
      );
      await screenshot('config-quick-fix.png');
      await page.keyboard.press('Enter');
      await waitFor(fixed, { timeoutMs: 10_000, describe: 'the editor text to read "learning_rate: 1.0e-4"' });
      await waitFor(async () => (await squiggle.count()) === 0, { timeoutMs: 10_000, describe: 'the squiggle to disappear' });

      step('hover shows the field documentation');
      await page.locator('.monaco-editor .view-line', { hasText: 'max_length' }).locator('span', { hasText: 'max_length' }).first().hover();
      const hover = page.locator('.monaco-hover-content', { hasText: 'max_length' });
      await hover.first().waitFor({ state: 'visible', timeout: 15_000 });
      const hoverText = await hover.first().innerText();
      if (!/max_length.*integer/s.test(hoverText)) throw new Error(`hover text lacks the field's type: ${hoverText}`);
      await screenshot('config-hover.png');

      step('completion offers schema fields on a new line');
      await page.locator('.monaco-editor .view-line', { hasText: 'max_length' }).click();
      await page.keyboard.press('End');
      await page.keyboard.press('Enter');
      await page.keyboard.type('warmup_r');
      await page.keyboard.press('Control+Space');
      const suggestion = page.locator('.suggest-widget .monaco-list-row', { hasText: 'warmup_ratio' });
      await suggestion.first().waitFor({ state: 'visible', timeout: 15_000 });
      await page.keyboard.press('Enter');
      await waitFor(async () => (await editorText(page)).includes('warmup_ratio:'), {
        timeoutMs: 10_000,
        describe: 'the accepted completion "warmup_ratio: " in the editor',
      });
      await screenshot('config-completion.png');
    } finally {
      // Leave the shared workspace copy as other scenarios expect it.
      await page.keyboard.press('Escape').catch(() => {});
      fs.rmSync(file, { force: true });
    }
  },
};
