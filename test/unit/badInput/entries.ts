// The TypeScript entry points a bad input is handed to, each turned into one Outcome: what kind of
// answer came back and the one message a user would read.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { main as cli } from '../../../src/cli/main';
import { formatProblem, validateConfigFile } from '../../../src/config/validateConfig';
import { readRows } from '../../../src/insight/datasetRows';
import { loadTokenizer } from '../../../src/insight/tokenizerLoader';
import { parseChoiceArguments, parseChoiceText } from '../../../src/judge/choice';
import { parseAppMessage, type ParamGuards, type RequestMap } from '../../../src/protocol/bridge';
import { chatGuards } from '../../../src/protocol/chat';
import { dashboardGuards } from '../../../src/protocol/dashboard';
import { generationsGuards } from '../../../src/protocol/generations';
import { judgeGuards } from '../../../src/protocol/judge';
import { tokensGuards } from '../../../src/protocol/tokens';
import { EventReader, type ReaderProblem } from '../../../src/runs/eventReader';
import { loadRun } from '../../../src/runs/runStore';
import { repoRoot } from '../helpers';
import type { BadInputCase, Outcome, TokenizerSpec } from './corpus';

type Entry = (file: string, c: BadInputCase) => Promise<Outcome>;

const GUARDS: Record<string, ParamGuards<RequestMap>> = {
  dashboard: dashboardGuards,
  generations: generationsGuards,
  judge: judgeGuards,
  tokens: tokensGuards,
  chat: chatGuards,
} as unknown as Record<string, ParamGuards<RequestMap>>;

/** A `path:line[:col]: ` prefix: a message that says where. */
const LOCATED = /^\S+:\d+(?::\d+)?: /;

export const ENTRIES: Record<string, Entry> = {
  'ts-validate': async (file) => {
    const { problems } = validateConfigFile(file);
    return several('problem', problems.map((p) => formatProblem(file, p)));
  },
  'ts-cli-validate': async (file) => {
    let out = '';
    const code = await cli(['validate', file], { out: (t) => (out += t), err: (t) => (out += t) });
    return cliOutcome(code, out);
  },
  'ts-events': async (file) => {
    const reader = new EventReader(file, { watch: false });
    const problems: ReaderProblem[] = [];
    reader.onProblem((p) => problems.push(p));
    try {
      const events = await reader.read();
      const delivered = `${events.length} delivered (seq ${events.map((e) => e.seq).join(',') || '-'})`;
      return { kind: 'events', message: `${delivered}; ${problems.length === 0 ? 'no problem' : problems.map(describeProblem).join('; ')}` };
    } finally {
      reader.close();
    }
  },
  'ts-run-folder': async (dir) => {
    // An hour from now: a run folder written moments ago (the case's own files) looks an hour old.
    const snapshot = await loadRun(dir, { now: () => Date.now() / 1000 + 3600, isPidAlive: () => false, watch: false });
    snapshot.reader.close();
    const { state, step, loss } = snapshot.summary;
    return { kind: 'run', message: `state ${state}; step ${step ?? '-'}; loss ${loss ?? '-'}` };
  },
  'ts-judge': async (file) => {
    const { choice, argument } = parseChoiceText(fs.readFileSync(file, 'utf8'));
    return { kind: 'choice', message: `${choice} (${argument})` };
  },
  'ts-judge-tool': async (file) => {
    const { choice, argument } = parseChoiceArguments(fs.readFileSync(file, 'utf8'));
    return { kind: 'choice', message: `${choice} (${argument})` };
  },
  'ts-tokenizer': async (dir, c) => {
    const tok = await loadTokenizer(dir);
    const ids = tok.encode(c.encode ?? 'hello world');
    const rendered = tok.render([{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello.' }], false);
    return { kind: 'ok', message: `encodes to ${ids.length} ids; renders a conversation in ${rendered.length} characters` };
  },
  'ts-webview': async (file) => {
    const { panel, message } = JSON.parse(fs.readFileSync(file, 'utf8')) as { panel: string; message: unknown };
    const parsed = parseAppMessage(message, GUARDS[panel]);
    if (parsed.kind === 'invalid') return { kind: 'invalid', message: `reply to seq ${parsed.seq}: ${parsed.error}` };
    if (parsed.kind === 'request') return { kind: 'request', message: `${panel}.${parsed.request.method}` };
    return { kind: parsed.kind, message: '' };
  },
  'ts-rows': async (file) => {
    const rows = readRows(file);
    return { kind: 'ok', message: `${rows.length} rows; columns ${Object.keys(rows[0]?.data ?? {}).join(', ')}` };
  },
};

/** Outcome of an entry that answers with a list of problems: exactly one is the expected shape. */
function several(kind: string, messages: string[]): Outcome {
  if (messages.length === 0) return { kind: 'ok', message: '' };
  if (messages.length === 1) return { kind, message: messages[0] };
  return { kind: `${messages.length} ${kind}s`, message: messages.join(' | ') };
}

/** A command's exit code and output; more than one located line is more than one message. */
function cliOutcome(code: number, output: string): Outcome {
  const lines = output.split('\n').filter((l) => l.trim());
  const located = lines.filter((l) => LOCATED.test(l)).length;
  return { kind: located > 1 ? `exit ${code}, ${located} messages` : `exit ${code}`, message: lines.join('\n') };
}

/** A reader problem without the text of the line it is about (the README shows the reader's own fields). */
function describeProblem(problem: ReaderProblem): string {
  const { kind, ...rest } = problem as ReaderProblem & Record<string, unknown>;
  delete rest.line;
  return `${kind} ${JSON.stringify(rest)}`;
}

/** The outcome of an entry point that threw: the error's class and message. */
export function thrown(error: unknown): Outcome {
  if (error instanceof Error) {
    const kind = (error as { kind?: unknown }).kind;
    return { kind: typeof kind === 'string' ? `${error.name}(${kind})` : error.name, message: error.message };
  }
  return { kind: 'throw', message: String(error) };
}

const EXAMPLE_MODEL = path.join(repoRoot, 'examples', 'tiny-llama');
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'config.json'];

/** A copy of the example model's tokenizer files, spoilt as the spec says. */
export function makeTokenizerFolder(dir: string, spec: TokenizerSpec): void {
  if (spec.missing) return;
  fs.mkdirSync(dir, { recursive: true });
  for (const name of TOKENIZER_FILES) {
    if (!spec.remove?.includes(name)) fs.copyFileSync(path.join(EXAMPLE_MODEL, name), path.join(dir, name));
  }
  for (const [name, bytes] of Object.entries(spec.truncate ?? {})) {
    fs.writeFileSync(path.join(dir, name), new Uint8Array(fs.readFileSync(path.join(dir, name)).subarray(0, bytes)));
  }
  for (const [name, keys] of Object.entries(spec.patch ?? {})) {
    const file = path.join(dir, name);
    fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), ...keys }));
  }
}

/** Inputs too big (or too odd) to keep in the repository, by the name a case gives. */
export const GENERATORS: Record<string, (file: string) => void> = {
  directory: (file) => fs.mkdirSync(file, { recursive: true }),
  'judge-100k-braces': (file) => fs.writeFileSync(file, '{'.repeat(100_000)),
  'judge-1mb-prose-then-verdict': (file) =>
    fs.writeFileSync(file, `${'The first answer is thorough. '.repeat(35_000)}\n{"argument": "Answer 2 is wrong.", "choice": 1}\n`),
  'events-5mb-garbage-line': (file) => {
    const event = (seq: number) => `{"v":1,"seq":${seq},"time":${1767225600 + seq},"type":"log","message":"m${seq}"}\n`;
    fs.writeFileSync(file, `${event(0)}${'x'.repeat(5 << 20)}\n${event(1)}`);
  },
  'webview-compare-1mb-path': (file) =>
    fs.writeFileSync(file, JSON.stringify({ panel: 'dashboard', message: { type: 'request', seq: 20, method: 'compare', params: { runDirs: [`/runs/${'a'.repeat(1 << 20)}`] } } })),
  'webview-control-10mb-field': (file) =>
    fs.writeFileSync(file, JSON.stringify({ panel: 'dashboard', message: { type: 'request', seq: 21, method: 'control', params: { action: 'stop', note: 'x'.repeat(10 << 20) } } })),
  'webview-chat-1mb-turn': (file) =>
    fs.writeFileSync(
      file,
      JSON.stringify({
        panel: 'chat',
        message: { type: 'request', seq: 22, method: 'send', params: { messages: [{ role: 'user', content: 'x'.repeat(1 << 20) }], sampling: { maxNewTokens: 64, temperature: 0.7, topP: 1, topK: 0 } } },
      }),
    ),
};
