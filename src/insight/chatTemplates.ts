// Which chat template token insight renders with: the config's `chat_template` (a bundled name or a .jinja
// file), else the tokenizer's own, else the bundled `plain` one: the trainer's rule
// (trainer/sft_studio/data/chat_templates.py), reading the same bundled files.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bundledTemplatesDir, isTemplateFile } from '../config/chatTemplateFiles';

export { bundledTemplateNames, bundledTemplatesDir, DEFAULT_TEMPLATE, isTemplateFile } from '../config/chatTemplateFiles';

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
