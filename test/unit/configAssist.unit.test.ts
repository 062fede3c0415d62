import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { completionsAt, fieldDocumentation, hoverAt, suggestedReplacement } from '../../src/config/configAssist';
import { configTemplates } from '../../src/config/configTemplates';
import { fieldNames } from '../../src/config/runConfigSchema';
import { validateConfigText } from '../../src/config/validateConfig';
import { newRunConfig } from '../../src/commands/newRunConfig';
import { FakeUi, fixtures, tempDir } from './helpers';

const configPath = path.join(fixtures, 'configs', 'x.sft.yaml');
const text = 'model_name_or_path: model\nlearning_rate: 2.0e-4\nlr_scheduler_type: cosine\n';

test('hover: the field under the cursor, on its key or its value, with type, default and description', () => {
  const onKey = hoverAt(text, text.indexOf('learning_rate') + 3);
  assert.equal(onKey?.field, 'learning_rate');
  assert.match(onKey?.markdown ?? '', /^\*\*learning_rate\*\*: `number` = 0.00005\n\nPeak learning rate/);
  assert.equal(text.slice(onKey?.start, onKey?.end), 'learning_rate: 2.0e-4');
  const onValue = hoverAt(text, text.indexOf('cosine') + 2);
  assert.equal(onValue?.field, 'lr_scheduler_type');
  assert.match(onValue?.markdown ?? '', /`"linear" \| "cosine" \| "constant" \| "constant_with_warmup"` = "linear"/);
  assert.equal(hoverAt('unknown_key: 1\n', 3), undefined, 'no hover for a field the schema does not know');
  assert.equal(hoverAt(text, text.length), undefined, 'past the last value');
  assert.equal(fieldDocumentation('nope'), undefined);
});

test('hover works in JSON configs too', () => {
  const json = '{\n  "max_steps": 50\n}\n';
  assert.equal(hoverAt(json, json.indexOf('max_steps'))?.field, 'max_steps');
});

test('completion: fields not yet present at the start of a line; enum values and booleans after "field:"', () => {
  const keys = completionsAt(text, '');
  assert.equal(keys.length, fieldNames.length - 3);
  assert.ok(!keys.some((k) => k.label === 'learning_rate'), 'a field already set is not offered again');
  const warmup = keys.find((k) => k.label === 'warmup_ratio');
  assert.equal(warmup?.insertText, 'warmup_ratio: ');
  assert.equal(warmup?.detail, 'number');
  assert.ok(completionsAt(text, 'lea').some((k) => k.label === 'seed'), 'the editor filters by the typed prefix');
  assert.deepEqual(completionsAt(text, '  nested'), [], 'not inside nested mappings');

  const schedulers = completionsAt(text, 'lr_scheduler_type: ');
  assert.deepEqual(schedulers.map((c) => c.label), ['linear', 'cosine', 'constant', 'constant_with_warmup']);
  assert.equal(schedulers[0].detail, 'lr_scheduler_type (default)');
  assert.deepEqual(completionsAt(text, 'padding_free: t').map((c) => c.label), ['true', 'false']);
  assert.deepEqual(completionsAt(text, 'learning_rate: '), [], 'free-form numbers get no list');
});

test('quick fix: a typo\'d key or enum value gets the replacement its diagnostic proposes, and the fix validates clean', () => {
  const typo = 'model_name_or_path: model\ntrain_file: data/train.jsonl\nlearnign_rate: 1e-4\nlr_scheduler_type: cosin\n';
  const { problems } = validateConfigText(typo, { configPath, exists: () => true });
  const unknown = problems.find((p) => p.code === 'unknown-field');
  assert.deepEqual(unknown && [unknown.line, unknown.column, unknown.endLine, unknown.endColumn], [3, 1, 3, 14]);
  assert.equal(suggestedReplacement(unknown?.message ?? ''), 'learning_rate');
  const badEnum = problems.find((p) => p.field === 'lr_scheduler_type');
  assert.deepEqual(badEnum && [badEnum.line, badEnum.column, badEnum.endColumn], [4, 20, 25]);
  assert.equal(suggestedReplacement(badEnum?.message ?? ''), 'cosine');
  const fixed = typo.replace('learnign_rate', 'learning_rate').replace('cosin\n', 'cosine\n');
  assert.deepEqual(validateConfigText(fixed, { configPath, exists: () => true }).problems, []);
  assert.equal(suggestedReplacement('unknown field "zzz"; remove it'), undefined);
});

test('every template passes the schema, and none names a field twice', () => {
  assert.deepEqual(configTemplates.map((t) => t.id), ['instruction', 'chat', 'classification', 'lora']);
  for (const template of configTemplates) {
    const { problems, config } = validateConfigText(template.text, { configPath, exists: () => true });
    assert.deepEqual(problems, [], template.id);
    assert.ok(config?.model_name_or_path && config.train_file, template.id);
  }
  const lora = validateConfigText(configTemplates[3].text, { configPath, exists: () => true }).config;
  assert.equal(lora?.use_lora, true);
  const classify = validateConfigText(configTemplates[2].text, { configPath, exists: () => true }).config;
  assert.equal(classify?.task, 'sequence_classification');
});

test('New Run Config: template picked, free name proposed, file written and opened; names are checked', async (t) => {
  const folder = tempDir(t);
  fs.writeFileSync(path.join(folder, 'lora.sft.yaml'), 'taken');
  const ui = new FakeUi();
  ui.pickAnswers = [(items) => items.find((i) => i.label === 'LoRA')];
  let proposed: string | undefined;
  let validate: ((value: string) => string | undefined) | undefined;
  ui.input = async (options) => {
    proposed = options.value;
    validate = options.validate;
    return 'my-lora';
  };
  const deps = {
    ui,
    folder: () => folder,
    exists: (file: string) => fs.existsSync(file),
    writeFile: (file: string, body: string) => fs.promises.writeFile(file, body, { flag: 'wx' }),
  };
  const file = await newRunConfig(deps);
  assert.equal(file, path.join(folder, 'my-lora.sft.yaml'));
  assert.equal(proposed, 'lora-2', 'the template name is taken, so the next free one is proposed');
  assert.equal(validate?.('lora'), 'lora.sft.yaml already exists');
  assert.match(validate?.('a b') ?? '', /no spaces or slashes/);
  assert.equal(validate?.('fine.sft.yaml'), undefined);
  assert.match(fs.readFileSync(file ?? '', 'utf8'), /use_lora: true/);
  assert.deepEqual(ui.messages('open'), [file]);
  assert.equal(await newRunConfig({ ...deps, folder: () => undefined }), undefined);
  assert.match(ui.messages('error')[0], /open a folder first/);
});
