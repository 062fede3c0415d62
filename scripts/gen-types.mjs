// Generates TypeScript types from the JSON Schemas in schema/, so the schema files stay the single
// truth shared with the Python trainer. Run by `npm run build`; a unit test calls generateTypes()
// and fails when the checked-in output drifts from the schemas. It also writes the RunConfig
// dataclass's field doc lines from the config schema's descriptions (gen-config-docs.mjs).
import { compile } from 'json-schema-to-typescript';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { configFile, writeConfigDocs } from './gen-config-docs.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const targets = [
  { schema: 'schema/events.schema.json', out: 'src/protocol/generated/events.ts' },
  { schema: 'schema/run-config.schema.json', out: 'src/protocol/generated/runConfig.ts' },
  { schema: 'schema/run-directory.schema.json', out: 'src/protocol/generated/runDirectory.ts' },
];

const banner = (schema) =>
  `// generated, do not edit: produced from ${schema} by scripts/gen-types.mjs (npm run gen:types)`;

/** Returns { [relative output path]: file text } without touching the disk. */
export async function generateTypes() {
  const files = {};
  for (const { schema, out } of targets) {
    const json = JSON.parse(await readFile(path.join(root, schema), 'utf8'));
    files[out] = await compile(json, json.title, {
      bannerComment: banner(schema),
      cwd: path.join(root, 'schema'),
      // The schemas list every field; an open index signature would hide typos in the TS code.
      additionalProperties: false,
      unknownAny: true,
      format: true,
      style: { singleQuote: true, printWidth: 100, trailingComma: 'all' },
    });
  }
  return files;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const files = await generateTypes();
  for (const [out, text] of Object.entries(files)) {
    const target = path.join(root, out);
    await mkdir(path.dirname(target), { recursive: true });
    const previous = await readFile(target, 'utf8').catch(() => undefined);
    if (previous !== text) {
      await writeFile(target, text);
      console.log(`gen-types: wrote ${out}`);
    }
  }
  if (await writeConfigDocs()) console.log(`gen-types: wrote ${configFile}`);
}
