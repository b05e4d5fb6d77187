/**
 * `sidecarctl certs [PATH...]`: development certificates for --mtls-secret. Secret manifests (the only
 * place private keys ever go) on stdout or in a 0600 file; the report and a loud warning on stderr.
 */
import chalk from 'chalk';
import { UserError } from '../../errors.js';
import { planCertificates, type Skipped } from '../../certs/plan.js';
import { DEV_WARNING, issueSecrets, joinManifests, type IssuedSecret } from '../../certs/secrets.js';
import { WORKLOAD_PLACEHOLDER } from '../../settings/options.js';
import { DEFAULT_SECRET_SUFFIX } from '../../sidecars/mtls/source.js';
import { parseInteger } from '../../units.js';
import { readInputs, writeAtomic } from '../io.js';
import { flagsLayer, profileFrom } from '../settings-flags.js';

export const DEFAULT_DAYS = 30;
const MAX_DAYS = 397;
export const SECRET_NAME_TEMPLATE = `${WORKLOAD_PLACEHOLDER}${DEFAULT_SECRET_SUFFIX}`;

function parseDays(raw: unknown): number {
  try {
    const days = parseInteger(String(raw ?? DEFAULT_DAYS), 1);
    if (days > MAX_DAYS) throw new Error(`${days} is more than ${MAX_DAYS}: development certificates should not live long`);
    return days;
  } catch (error) {
    throw new UserError(`--days: ${(error as Error).message}`);
  }
}

function report(issued: IssuedSecret[], skipped: Skipped[], template: string, output: string | undefined): string {
  const lines = [chalk.red.bold(`WARNING: ${DEV_WARNING}`), chalk.red('Use cert-manager (--mtls-issuer) for anything that matters.')];
  for (const s of issued) {
    const where = [s.plan.namespace, s.plan.secretName].filter(Boolean).join('/');
    const dns = s.plan.dnsNames.length > 0 ? `, ${s.plan.dnsNames.length} DNS names` : ', no Service in the input selects it';
    lines.push(`${chalk.green('secret')}   Secret/${where} for ${s.plan.object}: ${s.plan.identity}${dns}, until ${s.notAfter.toISOString().slice(0, 10)}`);
  }
  for (const s of skipped) lines.push(`${chalk.yellow('skipped')}  ${s.object}: ${s.reason}`);
  lines.push(`${issued.length} Secret(s) ${output ? `written to ${output} (mode 0600)` : 'on stdout'}; apply them, then inject with:`);
  lines.push(`  sidecarctl inject --mtls strict --mtls-secret '${template}' PATH`);
  return lines.join('\n') + '\n';
}

export async function certsCommand(paths: string[], opts: Record<string, unknown>): Promise<void> {
  const days = parseDays(opts.days);
  const output = typeof opts.output === 'string' ? opts.output : undefined;
  // Keys on a screen end up in scrollback, screenshots and recordings.
  if (!output && process.stdout.isTTY) throw new UserError('refusing to print private keys to a terminal: pipe into kubectl apply -f -, or use -o FILE');
  const flags = flagsLayer(opts);
  const profile = profileFrom(opts)?.layer ?? [];
  const sources = await readInputs(paths);
  const { plans, skipped } = planCertificates(sources, { profile, flags });
  if (plans.length === 0) {
    const why = skipped.map((s) => `\n  ${s.object}: ${s.reason}`).join('');
    throw new UserError(`no workload to make a certificate for${why || ' (no workloads in the input)'}`);
  }
  const issued = await issueSecrets(plans, days);
  const text = joinManifests(issued);
  const template = typeof opts.mtlsSecret === 'string' ? opts.mtlsSecret : SECRET_NAME_TEMPLATE;
  if (output) await writeAtomic(output, text, 0o600);
  else process.stdout.write(text);
  process.stderr.write(report(issued, skipped, template, output));
}
