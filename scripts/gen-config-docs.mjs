// Writes the doc line under every field of the trainer's RunConfig dataclass (trainer/sft_studio/config.py)
// from that field's `description` in schema/run-config.schema.json, so each field is documented once: in the
// schema, which the editor shows on hover and completion. Run by `npm run gen:types`;
// trainer/tests/test_config.py fails when the two drift.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const schemaFile = 'schema/run-config.schema.json';
export const configFile = 'trainer/sft_studio/config.py';

const INDENT = '    ';
const WIDTH = 120;
const FIELD = /^ {4}([A-Za-z_]\w*): [^=]+(=.*)?$/;

/** A description as a triple-quoted docstring of the class body, wrapped at WIDTH columns. */
export function docstring(description) {
  if (/\\|"""|"$|\n/.test(description)) throw new Error(`cannot be a plain docstring: ${description.slice(0, 60)}`);
  const lines = [];
  let line = `${INDENT}"""`;
  for (const word of description.split(/\s+/).filter(Boolean)) {
    const bare = line === `${INDENT}"""` || line === INDENT;
    if (!bare && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = INDENT + word;
    } else {
      line += (bare ? '' : ' ') + word;
    }
  }
  // The closing quotes count too: a last word they would push past WIDTH starts a line of its own.
  const last = line.lastIndexOf(' ');
  if (line.length + 3 > WIDTH && last > INDENT.length + 3) {
    lines.push(line.slice(0, last));
    line = INDENT + line.slice(last + 1);
  }
  lines.push(`${line}"""`);
  return lines;
}

/** End (exclusive) of the docstring starting at lines[start], or start when there is none. */
function docstringEnd(lines, start) {
  const first = lines[start] ?? '';
  if (!first.startsWith(`${INDENT}"""`)) return start;
  if (first.length > INDENT.length + 6 && first.endsWith('"""')) return start + 1;
  for (let i = start + 1; i < lines.length; i++) if (lines[i].endsWith('"""')) return i + 1;
  throw new Error(`${configFile}:${start + 1}: unterminated docstring`);
}

/** config.py's text with the doc line of every RunConfig field the schema describes set from its description (a
 * missing doc line is added). Fields only one side has are left alone: test_config.py reports them. */
export function withConfigDocs(source, schema) {
  const lines = source.split('\n');
  const classAt = lines.indexOf('class RunConfig:');
  if (classAt < 0) throw new Error(`${configFile}: no \`class RunConfig:\``);
  const out = lines.slice(0, classAt + 1);
  let i = classAt + 1;
  for (; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith(`${INDENT}def `) || line.startsWith(`${INDENT}@`) || (line && !line.startsWith(' '))) break;
    out.push(line);
    const description = schema.properties?.[FIELD.exec(line)?.[1]]?.description;
    if (!description) continue;
    out.push(...docstring(description));
    i = docstringEnd(lines, i + 1) - 1;
  }
  return [...out, ...lines.slice(i)].join('\n');
}

/** Rewrites config.py when its doc lines differ from the schema; returns whether it wrote. */
export async function writeConfigDocs() {
  const schema = JSON.parse(await readFile(path.join(root, schemaFile), 'utf8'));
  const target = path.join(root, configFile);
  const previous = await readFile(target, 'utf8');
  const text = withConfigDocs(previous, schema);
  if (text === previous) return false;
  await writeFile(target, text);
  return true;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (await writeConfigDocs()) console.log(`gen-config-docs: wrote ${configFile}`);
}
