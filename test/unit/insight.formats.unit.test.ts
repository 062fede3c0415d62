// Row formats in the editor (src/insight/rowFormats.ts) against the trainer (trainer/sft_studio/data/formats.py):
// every fixture row of test/fixtures/formats/ must give the Conversation in expected.json, the file
// trainer/tests/test_formats.py checks the Python side against, and every bad row the same message and hint.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { validateConfigText } from '../../src/config/validateConfig';
import { DataError, Row, readRows, rowToMessages } from '../../src/insight/datasetRows';
import { loadInsightConfig } from '../../src/insight/insightConfig';
import { detectFormat, resolveFormat, rowConversation, rowFormat, type FormatOptions } from '../../src/insight/rowFormats';
import { fixtures, repoRoot, tempDir } from './helpers';

interface Config {
  dataset_format?: string;
  column_mapping?: Record<string, string>;
  message_field_mapping?: Record<string, string>;
  role_mapping?: Record<string, string>;
  system_prompt?: string;
}

interface Expected {
  files: { file: string; config: Config; format: string; conversations: unknown[] }[];
  errors: { name: string; format: string; config: Config; row: Record<string, unknown>; message: string; hint: string }[];
}

const dir = path.join(fixtures, 'formats');
const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as Expected;

function options(config: Config): FormatOptions {
  return { messageFieldMapping: config.message_field_mapping, roleMapping: config.role_mapping, systemPrompt: config.system_prompt };
}

test('every fixture row gives the conversation the trainer gives (expected.json)', () => {
  assert.ok(expected.files.length >= 7);
  for (const { file, config, format, conversations } of expected.files) {
    const rows = readRows(path.join(dir, file), config.column_mapping ?? {});
    const opts = options(config);
    const resolved = resolveFormat(config.dataset_format ?? 'auto', rows, opts);
    assert.equal(resolved, format, `${file}: format`);
    assert.deepEqual(
      rows.map((row) => rowConversation(row, resolved, opts)),
      conversations,
      `${file} ${JSON.stringify(config)}`,
    );
    // Per-row detection (auto) agrees with the file-level one.
    assert.deepEqual(
      rows.map((row) => rowConversation(row, 'auto', opts)),
      conversations,
    );
  }
});

test('every bad row gives the trainer\'s message and hint', () => {
  assert.ok(expected.errors.length >= 15);
  for (const { name, format, config, row, message, hint } of expected.errors) {
    assert.throws(
      () => rowConversation(new Row('x.jsonl:1', row, config.column_mapping ?? {}), format, options(config)),
      (error: unknown) => {
        assert.ok(error instanceof DataError, name);
        assert.equal(error.message, message, name);
        assert.equal(error.hint, hint, name);
        return true;
      },
    );
  }
});

test('auto detection follows the documented order, through column_mapping and message_field_mapping', () => {
  const detect = (data: Record<string, unknown>, mapping: Record<string, string> = {}, opts: FormatOptions = {}) => detectFormat([new Row('d.jsonl:1', data, mapping)], opts);
  assert.equal(detect({ messages: [{ role: 'user', content: 'a' }], prompt: 'a', completion: 'b' }), 'messages');
  assert.equal(detect({ conversations: [{ from: 'human', value: 'a' }], text: 'x' }), 'sharegpt');
  assert.equal(detect({ prompt: 'a', completion: 'b', instruction: 'a', output: 'b' }), 'prompt_completion');
  assert.equal(detect({ instruction: 'a', output: 'b', text: 'x' }), 'alpaca');
  assert.equal(detect({ text: 'plain', meta: 1 }), 'text');
  assert.equal(detect({ question: 'a', answer: 'b' }, { instruction: 'question', output: 'answer' }), 'alpaca');
  assert.equal(detect({ dialog: [{ from: 'human', value: 'a' }] }, { conversations: 'dialog' }), 'sharegpt');
  assert.equal(detect({ messages: [{ from: 'human', value: 'a' }], text: 'x' }), 'text');
  assert.equal(detect({ messages: [{ speaker: 'user', text: 'a' }] }, {}, { messageFieldMapping: { role: 'speaker', content: 'text' } }), 'messages');
  // A partly matching row takes that format, so encoding it names what is missing.
  assert.equal(rowFormat(new Row('d.jsonl:1', { instruction: 'a' })), undefined);
  assert.equal(detect({ instruction: 'a' }), 'alpaca');
  assert.equal(detect({ question: 'a', output: 'b' }, { instruction: 'prompt' }), 'alpaca');
  assert.equal(detect({ prompt: 'a', chosen: 'b' }), 'prompt_completion');
  assert.throws(() => rowConversation(new Row('d.jsonl:1', { question: 'a', output: 'b' }, { instruction: 'prompt' }), 'auto'), {
    message: 'd.jsonl:1: missing field `prompt` (column_mapping reads `instruction` from it)',
  });
  assert.equal(resolveFormat('alpaca', [new Row('d.jsonl:1', { question: 'a' })]), 'alpaca');
});

test('role_mapping overrides a default, system_prompt fills only conversations without a system message', () => {
  const row = new Row('d.jsonl:1', { conversations: [{ from: 'human', value: 'q' }, { from: 'bot', value: 'a' }, { from: 'gpt', value: 'note' }] });
  const { messages } = rowConversation(row, 'sharegpt', { roleMapping: { bot: 'assistant', gpt: 'user' } });
  assert.deepEqual(
    messages?.map((m) => m.role),
    ['user', 'assistant', 'user'],
  );
  const late = new Row('d.jsonl:2', { messages: [{ role: 'user', content: 'a' }, { role: 'system', content: 'late' }, { role: 'assistant', content: 'b' }] });
  assert.deepEqual(
    rowConversation(late, 'messages', { systemPrompt: 'default' }).messages?.map((m) => m.content),
    ['a', 'late', 'b'],
  );
  assert.throws(() => rowConversation(new Row('d.jsonl:3', { text: 'x' }), 'auto'), { message: 'd.jsonl:3: a text row is not a conversation' });
});

test('rowToMessages delegates to the formats and refuses plain prompt/completion rows', () => {
  const row = new Row('d.jsonl:1', { conversations: [{ from: 'human', value: 'Hi' }, { from: 'gpt', value: 'Hello' }], system: 'Be kind.' });
  assert.deepEqual(rowToMessages(row, 'auto'), [
    { role: 'system', content: 'Be kind.' },
    { role: 'user', content: 'Hi' },
    { role: 'assistant', content: 'Hello' },
  ]);
  assert.deepEqual(rowToMessages(new Row('d.jsonl:1', { instruction: 'Say hi.', input: '', output: 'hi' }), 'alpaca'), [
    { role: 'user', content: 'Say hi.' },
    { role: 'assistant', content: 'hi' },
  ]);
  assert.throws(() => rowToMessages(new Row('d.jsonl:2', { prompt: 'The sky is', completion: ' blue.' }), 'auto'), {
    message: 'd.jsonl:2: a plain prompt/completion row has no chat messages',
  });
});

test('the sharegpt example config leaves dataset_format to auto, and its rows are sharegpt', () => {
  const config = loadInsightConfig(path.join(repoRoot, 'examples', 'sharegpt.sft.yaml'));
  assert.equal(config.datasetFormat, 'auto');
  assert.deepEqual([config.messageFieldMapping, config.roleMapping, config.systemPrompt], [null, null, null]);
  const rows = readRows(config.trainFile, config.columnMapping);
  assert.equal(rows.length, 40);
  assert.equal(resolveFormat(config.datasetFormat, rows, config), 'sharegpt');
});

test('the config fields of the formats load and are validated against the schema', (t) => {
  const folder = tempDir(t);
  const file = path.join(folder, 'c.sft.yaml');
  fs.writeFileSync(
    file,
    `model_name_or_path: ${path.join(repoRoot, 'examples', 'tiny-llama')}\ntrain_file: ${path.join(dir, 'sharegpt_mapped.jsonl')}\n` +
      'column_mapping: {conversations: dialog}\nmessage_field_mapping: {role: speaker, content: text}\n' +
      'role_mapping: {customer: user, agent: assistant}\nsystem_prompt: You are a support agent for an online shop.\n',
  );
  const config = loadInsightConfig(file);
  const rows = readRows(config.trainFile, config.columnMapping);
  assert.equal(resolveFormat(config.datasetFormat, rows, config), 'sharegpt');
  const mapped = expected.files.find((f) => f.file === 'sharegpt_mapped.jsonl');
  assert.deepEqual(
    rows.map((row) => rowConversation(row, 'sharegpt', config)),
    mapped?.conversations,
  );

  const problems = (text: string) =>
    validateConfigText(`model_name_or_path: m\ntrain_file: t.jsonl\n${text}`, { configPath: file, exists: () => true }).problems.map(
      (p) => `${p.line}:${p.column} ${p.message}`,
    );
  assert.deepEqual(problems('dataset_format: sharegpt\nrole_mapping:\n  bot: asistant\n'), [
    '5:8 role_mapping.bot must be one of system, user, assistant, tool; got "asistant"; did you mean "assistant"?',
  ]);
  assert.deepEqual(problems('message_field_mapping: {speaker: from}\n'), [
    '3:25 unknown field "speaker"; remove it or see the run config schema for the fields it accepts',
  ]);
  assert.deepEqual(problems('dataset_format: prompt_completion\nsystem_prompt: null\nmessage_field_mapping: null\n'), []);
  assert.deepEqual(problems('dataset_format: sharegp\n'), [
    '3:17 dataset_format must be one of auto, alpaca, messages, sharegpt, prompt_completion, text; got "sharegp"; did you mean "sharegpt"?',
  ]);
});
