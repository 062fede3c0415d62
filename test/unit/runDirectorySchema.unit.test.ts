// The extension's side of schema/run-directory.schema.json (the trainer's side: trainer/tests/test_run_directory_schema.py):
// what it writes to control.jsonl and the status.json it is tested on are valid, and its list of control actions is the
// schema's.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import Ajv2020 from 'ajv/dist/2020';
import runDirectorySchema from '../../schema/run-directory.schema.json';
import { CONTROL_ACTIONS } from '../../src/protocol/dashboard';
import { appendControl } from '../../src/runs/runManager';
import { fixtures, tempDir } from './helpers';

function validator(definition: 'StatusFile' | 'ControlRequest') {
  const schema = { ...runDirectorySchema, oneOf: [{ $ref: `#/$defs/${definition}` }] };
  return new Ajv2020({ allErrors: true, strict: false }).compile(schema);
}

test('control requests the extension appends are valid ControlRequest records', (t) => {
  const dir = tempDir(t);
  for (const type of CONTROL_ACTIONS) appendControl(dir, { type, time: Date.now() / 1000 });
  const valid = validator('ControlRequest');
  const lines = fs.readFileSync(path.join(dir, 'control.jsonl'), 'utf8').trimEnd().split('\n');
  assert.equal(lines.length, CONTROL_ACTIONS.length);
  for (const line of lines) assert.ok(valid(JSON.parse(line)), `${line}: ${JSON.stringify(valid.errors)}`);
});

test('the dashboard offers exactly the control actions of the schema', () => {
  assert.deepEqual([...CONTROL_ACTIONS].sort(), [...runDirectorySchema.$defs.ControlRequest.properties.type.enum].sort());
});

test('the status.json of the fixture runs is a valid StatusFile', () => {
  const valid = validator('StatusFile');
  const runs = path.join(fixtures, 'runs');
  for (const run of fs.readdirSync(runs)) {
    const file = path.join(runs, run, 'status.json');
    if (!fs.existsSync(file)) continue;
    const status: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.ok(valid(status), `${file}: ${JSON.stringify(valid.errors)}`);
  }
  assert.equal(valid({ state: 'paused', heartbeat: 1 }), false);
});
