/**
 * Sidecar config files are rendered from Handlebars templates in `templates/` (a user's `--templates DIR`
 * overrides them file by file). Values go in through the `json` helper, whose output is valid YAML and
 * JSON, never through plain `{{x}}`: no HTML escaping, no quoting mistakes. The rendered text is parsed
 * back before use, so a broken template fails here and not in a pod.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { parse } from 'yaml';
import { UserError } from './errors.js';

export const BUNDLED_TEMPLATES = fileURLToPath(new URL('../templates/', import.meta.url));

const engine = Handlebars.create();
engine.registerHelper('json', (value: unknown) => JSON.stringify(value ?? null));
engine.registerHelper('eq', (a: unknown, b: unknown) => a === b);
// Handlebars passes its options object last; join the real arguments.
engine.registerHelper('concat', (...args: unknown[]) => args.slice(0, -1).join(''));

const compiled = new Map<string, Handlebars.TemplateDelegate>();

function templatePath(name: string, overrideDir?: string): string {
  if (overrideDir) {
    const candidate = join(overrideDir, name);
    if (existsSync(candidate)) return candidate;
  }
  return join(BUNDLED_TEMPLATES, name);
}

/** Render a template to text. `strict`: a reference to a missing value is an error, not "". */
export function renderTemplate(name: string, data: object, overrideDir?: string): string {
  const path = templatePath(name, overrideDir);
  let template = compiled.get(path);
  if (!template) {
    template = engine.compile(readFileSync(path, 'utf8'), { noEscape: true, strict: true });
    compiled.set(path, template);
  }
  try {
    return tidy(template(data));
  } catch (error) {
    throw new UserError(`template error: ${(error as Error).message.split('\n')[0]}`, path);
  }
}

/** Render a YAML template and parse it back; returns both the text and the parsed value. */
export function renderYamlTemplate(name: string, data: object, overrideDir?: string): { text: string; value: unknown } {
  const text = renderTemplate(name, data, overrideDir);
  try {
    return { text, value: parse(text, { prettyErrors: false }) };
  } catch (error) {
    const line = (error as { linePos?: { line: number }[] }).linePos?.[0]?.line;
    throw new UserError(`template rendered invalid YAML: ${(error as Error).message.split('\n')[0]}`, templatePath(name, overrideDir), line);
  }
}

/** Drop trailing spaces and runs of blank lines that `{{#if}}` blocks leave behind. */
function tidy(text: string): string {
  return text.replace(/[ \t]+$/gm, '').replace(/\n{3,}/g, '\n\n').replace(/^\n+/, '').replace(/\n*$/, '\n');
}
