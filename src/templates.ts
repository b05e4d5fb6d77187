/**
 * Sidecar config files are rendered from Handlebars templates in `templates/` (a user's `--templates DIR`
 * overrides them file by file). Values go in through the `json` helper, whose output is valid YAML and
 * JSON, never through plain `{{x}}`: no HTML escaping, no quoting mistakes. The rendered text is parsed
 * back, so a broken template fails here and not in a pod.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join, sep } from 'node:path';
import HandlebarsRuntimeModule from 'handlebars/runtime.js';
import { parse } from 'yaml';
import { UserError } from './errors.js';
import { PACKAGE_ROOT } from './package-root.js';

export const BUNDLED_TEMPLATES = join(PACKAGE_ROOT, 'templates') + sep;
/** Written by scripts/precompile-templates.mjs at build time. */
const PRECOMPILED = join(PACKAGE_ROOT, 'dist', 'templates.precompiled.cjs');
const loadCommonJs = createRequire(import.meta.url);
/** The runtime is the compiler's API minus compile (its own typings only re-export the compiler's). */
const HandlebarsRuntime = HandlebarsRuntimeModule as unknown as typeof import('handlebars');

/**
 * Parsing every rendered config back costs more than the rest of inject together (a thousand
 * workloads, a thousand Envoy configs). Our bundled templates insert values only through `json` and
 * only in value positions, where a JSON text is always exactly one YAML value (test/fuzz/templates
 * checks that premise); whether such a text parses depends on the template alone, and every branch
 * of the bundled templates is parsed and validated by the tests. So their output is parsed only when
 * a caller reads the value. A user's `--templates` promise nothing of the kind: parsed every time.
 */
function json(value: unknown): string {
  return JSON.stringify(value ?? null);
}

/** Registers the template helpers (json, eq, or, concat) on a Handlebars environment. */
export function withHelpers<T extends Pick<typeof HandlebarsRuntime, 'registerHelper'>>(env: T): T {
  env.registerHelper('json', json);
  env.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  env.registerHelper('or', (...args: unknown[]) => args.slice(0, -1).some(Boolean));
  // Handlebars passes its options object last; join the real arguments.
  env.registerHelper('concat', (...args: unknown[]) => args.slice(0, -1).join(''));
  return env;
}

/** Renders precompiled templates: Handlebars' runtime only, no compiler. */
const runtime = withHelpers(HandlebarsRuntime.create());
/** The full Handlebars, loaded only to compile a template that has no up-to-date precompiled form. */
let compiler: typeof import('handlebars') | undefined;

interface Precompiled {
  hash: string;
  spec: TemplateSpecification;
}
type TemplateSpecification = Parameters<typeof HandlebarsRuntime.template>[0];

let precompiled: Record<string, Precompiled> | null | undefined;
function precompiledTemplates(): Record<string, Precompiled> | null {
  if (precompiled === undefined) precompiled = existsSync(PRECOMPILED) ? (loadCommonJs(PRECOMPILED) as Record<string, Precompiled>) : null;
  return precompiled;
}

/** A template's render function: precompiled when the bundled file is unchanged since the build. */
function compileTemplate(path: string): Handlebars.TemplateDelegate {
  const source = readFileSync(path, 'utf8');
  if (path.startsWith(BUNDLED_TEMPLATES)) {
    const entry = precompiledTemplates()?.[basename(path)];
    if (entry && entry.hash === createHash('sha256').update(source).digest('hex')) return runtime.template(entry.spec);
  }
  compiler ??= withHelpers((loadCommonJs('handlebars') as typeof import('handlebars')).create());
  return compiler.compile(source, { noEscape: true, strict: true });
}

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
  return render(templatePath(name, overrideDir), data);
}

function render(path: string, data: object): string {
  let template = compiled.get(path);
  if (!template) {
    template = compileTemplate(path);
    compiled.set(path, template);
  }
  try {
    return tidy(template(data));
  } catch (error) {
    throw new UserError(`template error: ${(error as Error).message.split('\n')[0]}`, path);
  }
}

/** Render a YAML template and parse it back (for bundled templates: when the value is first read). */
export function renderYamlTemplate(name: string, data: object, overrideDir?: string): { text: string; value: unknown } {
  const path = templatePath(name, overrideDir);
  const text = render(path, data);
  if (!path.startsWith(BUNDLED_TEMPLATES)) return { text, value: parseRendered(text, path) };
  let value: unknown;
  let parsed = false;
  return {
    text,
    get value() {
      if (!parsed) [value, parsed] = [parseRendered(text, path), true];
      return value;
    },
  };
}

function parseRendered(text: string, path: string): unknown {
  try {
    return parse(text, { prettyErrors: false });
  } catch (error) {
    const line = (error as { linePos?: { line: number }[] }).linePos?.[0]?.line;
    throw new UserError(`template rendered invalid YAML: ${(error as Error).message.split('\n')[0]}`, path, line);
  }
}

/** Drop trailing spaces and runs of blank lines that `{{#if}}` blocks leave behind. */
function tidy(text: string): string {
  return text.replace(/[ \t]+$/gm, '').replace(/\n{3,}/g, '\n\n').replace(/^\n+/, '').replace(/\n*$/, '\n');
}
