// Which chat template token insight renders with: the config's `chat_template` (a bundled name or a .jinja
// file), else the tokenizer's own, else the bundled `plain` one: the trainer's rule
// (trainer/sft_studio/chat_templates.py), reading the same bundled files.
import * as fs from 'node:fs';
import * as path from 'node:path';

export const DEFAULT_TEMPLATE = 'plain';
const TEMPLATES_SUBDIR = path.join('trainer', 'sft_studio', 'chat_templates');

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

/** The Jinja source for a config's `chat_template` value (a .jinja path is resolved from the config's folder). */
export function templateText(choice: string, configDir: string): string {
  const file = isTemplateFile(choice) ? path.resolve(configDir, choice) : path.join(bundledTemplatesDir(), `${choice}.jinja`);
  return fs.readFileSync(file, 'utf8');
}

/**
 * transformers' `{% generation %}` … `{% endgeneration %}` blocks only mark the assistant mask and render as
 * their content; the JavaScript Jinja engine does not know the tag, so it is removed before compiling.
 */
export function withoutGenerationTags(template: string): string {
  return template.replace(/\{%-?\s*(?:end)?generation\s*-?%\}/g, '');
}
