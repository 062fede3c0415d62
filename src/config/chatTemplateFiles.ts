// The chat templates bundled with the trainer (trainer/sft_studio/data/chat_templates/*.jinja) and what names a
// template file: the editor validates a config's `chat_template` against them, token insight renders with them.
import * as fs from 'node:fs';
import * as path from 'node:path';

export const DEFAULT_TEMPLATE = 'plain';
const TEMPLATES_SUBDIR = path.join('trainer', 'sft_studio', 'data', 'chat_templates');

/** The bundled templates' folder, found from wherever this code was bundled to (dist/, out/test/...). */
export function bundledTemplatesDir(start: string = __dirname): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, TEMPLATES_SUBDIR);
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`SFT Studio's bundled chat templates (${TEMPLATES_SUBDIR}) were not found above ${start}`);
  }
}

export function bundledTemplateNames(): string[] {
  return fs
    .readdirSync(bundledTemplatesDir())
    .filter((f) => f.endsWith('.jinja'))
    .map((f) => f.slice(0, -'.jinja'.length))
    .sort();
}

export const isTemplateFile = (value: string): boolean => value.endsWith('.jinja');

