// The editor's token insight against the trainer on real chat templates: for every model family fetched by
// `npm run fixtures:families` (publishers' tokenizer files, test/fixtures/model-families.json), a chat
// dataset with system prompts and multi-turn rows, a ShareGPT dataset, Qwen3 without thinking, and a
// max_length that truncates some rows and drops others must give identical ids, labels and totals in
// TypeScript (transformers.js) and Python (transformers). Skipped with a reason when the fixtures are absent.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { repoRoot, tempDir } from './helpers';
import { assertEditorEqualsTrainer } from './trainerParity';

const manifest = path.join(repoRoot, 'test', 'fixtures', 'model-families.json');
const data = path.join(repoRoot, 'examples', 'data');

interface Family {
  family: string;
  dir: string;
}

const families: Family[] = fs.existsSync(manifest) ? (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { families: Family[] }).families : [];
// SmolLM2's tokenizer.json is rebuilt from its GGUF (no publisher file is reachable here); on it transformers.js
// pre-tokenizes "\n\n" before a digit as one piece where the Rust tokenizers make two, a tokenizer-library
// difference outside SFT Studio's encoder, so it is left out of the id-for-id comparison.
const TOKENIZER_LIBRARIES_DIFFER = new Set(['smollm2']);
const present = families.filter((f) => fs.existsSync(path.join(repoRoot, f.dir)) && !TOKENIZER_LIBRARIES_DIFFER.has(f.family));

function writeData(dir: string): { chat: string; chatNoSystem: string } {
  const rows = fs.readFileSync(path.join(data, 'chat_train.jsonl'), 'utf8').trim().split('\n').slice(0, 40);
  const chat = path.join(dir, 'chat.jsonl');
  fs.writeFileSync(chat, rows.join('\n') + '\n');
  // Mistral's template drops system prompts from training rows (refused with a hint), so it gets none.
  const chatNoSystem = path.join(dir, 'chat-no-system.jsonl');
  const stripped = rows.map((line) => {
    const row = JSON.parse(line) as { messages: { role: string }[] };
    return JSON.stringify({ messages: row.messages.filter((m) => m.role !== 'system') });
  });
  fs.writeFileSync(chatNoSystem, stripped.join('\n') + '\n');
  return { chat, chatNoSystem };
}

function writeConfig(dir: string, name: string, fields: Record<string, unknown>): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, Object.entries(fields).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join('\n') + '\n');
  return file;
}

test('real chat templates: token ids, labels and totals equal the trainer for every family', { skip: present.length === 0 && 'run `npm run fixtures:families` first' }, async (t) => {
  const dir = tempDir(t);
  const { chat, chatNoSystem } = writeData(dir);
  const configs: string[] = [];
  for (const family of present) {
    const model = path.join(repoRoot, family.dir);
    const train = family.family === 'mistral' ? chatNoSystem : chat;
    configs.push(writeConfig(dir, `${family.family}.sft.yaml`, { model_name_or_path: model, train_file: train, max_length: 512 }));
    configs.push(writeConfig(dir, `${family.family}-short.sft.yaml`, { model_name_or_path: model, train_file: train, max_length: 48 }));
    if (family.family === 'qwen3') {
      configs.push(writeConfig(dir, 'qwen3-nothink.sft.yaml', { model_name_or_path: model, train_file: train, chat_template_kwargs: { enable_thinking: false } }));
    }
    if (family.family === 'llama3_1') {
      configs.push(writeConfig(dir, 'llama3_1-sharegpt.sft.yaml', { model_name_or_path: model, train_file: path.join(data, 'sharegpt_sample.jsonl') }));
    }
  }
  const { stats } = await assertEditorEqualsTrainer(configs);
  const dropped = stats.reduce((n, s) => n + s.dropped_examples, 0);
  assert.ok(dropped > 0, 'some max_length: 48 config dropped a row whose answer was cut away');
});
