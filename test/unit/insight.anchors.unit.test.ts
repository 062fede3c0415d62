// Anchored boundaries (ConversationEncoder.anchors): tokenizing only the text after the last added token of the
// generation prompt must place every span where tokenizing the whole text before it does, on the real tokenizers
// of every family fetched by `npm run fixtures:families` (the trainer's twin: trainer/tests/test_data_scale.py).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { ConversationEncoder, type TemplateMessage } from '../../src/insight/conversationEncoder';
import { DataError } from '../../src/insight/datasetRows';
import { loadTokenizer } from '../../src/insight/tokenizerLoader';
import { repoRoot } from './helpers';

const manifest = path.join(repoRoot, 'test', 'fixtures', 'model-families.json');
const families: { family: string; dir: string; supports_system: boolean }[] = fs.existsSync(manifest)
  ? JSON.parse(fs.readFileSync(manifest, 'utf8')).families
  : [];
const present = families.filter((f) => fs.existsSync(path.join(repoRoot, f.dir)));

const TURNS: TemplateMessage[] = [
  { role: 'user', content: 'What is the capital of Norvia?' },
  { role: 'assistant', content: 'The capital of Norvia is Quelt.' },
  { role: 'user', content: 'Numbers 12345 and  two  spaces \n\n' },
  { role: 'assistant', content: '  leading spaces, trailing newline\n' },
  { role: 'user', content: 'x' },
  { role: 'assistant', content: 'é😀 ok' },
];

test('anchored boundaries give the token layout of tokenizing the whole prefix, for every family', { skip: present.length === 0 && 'run `npm run fixtures:families` first' }, async () => {
  for (const family of present) {
    const tok = await loadTokenizer(path.join(repoRoot, family.dir));
    const anchored = new ConversationEncoder(tok, 4096, true);
    const plain = new ConversationEncoder({ ...tok, addedTokens: undefined }, 4096, true);
    assert.ok(anchored.anchors.length > 0, `${family.family}: no anchor, so the shortcut is never taken`);
    assert.equal(plain.anchors.length, 0);
    const cases: Record<string, TemplateMessage[]> = { single: TURNS.slice(0, 2), multi: TURNS, long: [...TURNS, ...TURNS, ...TURNS] };
    if (family.supports_system) cases.system = [{ role: 'system', content: 'Be terse.' }, ...TURNS.slice(0, 4)];
    for (const [name, messages] of Object.entries(cases)) {
      let expected;
      try {
        expected = plain.encode(messages, name);
      } catch (error) {
        if (!(error instanceof DataError)) throw error;
        assert.throws(() => anchored.encode(messages, name), { message: error.message });
        continue;
      }
      assert.deepEqual(anchored.encode(messages, name), expected, `${family.family}: ${name}`);
    }
  }
});
