/**
 * CLI entry. Each command lives in its own module under ./commands and is imported only when run,
 * so `sidecarctl --version` does not load protos, prompts or templates.
 */
import { basename } from 'node:path';
import { Command, CommanderError } from 'commander';
import { EXIT_USAGE, UserError } from '../errors.js';
import { PACKAGE_VERSION as version } from '../package-root.js';
import { addSettingsOptions } from './flag-definitions.js';

function program(): Command {
  const cli = new Command('sidecarctl')
    .description('Give Kubernetes workloads Envoy, log shipper or bundled proxy sidecars, with their config.')
    .version(version)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  addSettingsOptions(
    cli
      .command('inject')
      .description('inject sidecars into workloads (files, directories, or - for stdin)')
      .argument('[paths...]', 'files or directories; - or none with piped input reads stdin'),
  )
    .option('-o, --output <file|dir>', 'write to a file, or a directory (one file per input)')
    .option('-i, --in-place', 'rewrite the input files (atomically)')
    .option('--check', 'write nothing; exit 1 when any input would change')
    .option('--report <format>', 'report on stderr: text or json', 'text')
    .action(async (paths: string[], opts: Record<string, unknown>) => (await import('./commands/inject.js')).injectCommand('inject', paths, opts));

  cli
    .command('uninject')
    .description('remove exactly what inject added')
    .argument('[paths...]', 'files or directories; - or none with piped input reads stdin')
    .option('-o, --output <file|dir>', 'write to a file, or a directory (one file per input)')
    .option('-i, --in-place', 'rewrite the input files (atomically)')
    .option('--check', 'write nothing; exit 1 when any input would change')
    .option('--report <format>', 'report on stderr: text or json', 'text')
    .action(async (paths: string[], opts: Record<string, unknown>) => (await import('./commands/inject.js')).injectCommand('uninject', paths, opts));

  addSettingsOptions(
    cli
      .command('render')
      .description("print one sidecar's config file, from the same flags and profile")
      .argument('<sidecar>', 'envoy, fluent-bit, fluentd or proxy')
      .argument('[path]', 'a manifest: render for its first workload (or --workload NAME), with its annotations')
      .option('--workload <name>', 'which workload of PATH'),
  ).action(async (sidecar: string, path: string | undefined, opts: Record<string, unknown>) =>
    (await import('./commands/render.js')).renderCommand(sidecar, path, opts),
  );

  addSettingsOptions(
    cli
      .command('scaffold')
      .description('ask about proxy, logging, mTLS, retries, rate limit and upstreams; write .sidecarctl.yaml and the injected manifests')
      .argument('[path]', 'a manifest file or directory (asked for when not given)'),
  )
    .option('-o, --output <file|dir>', 'where the injected manifests go (default: beside the input, NAME.injected.yaml or DIR-injected/)')
    .option('-y, --yes', 'ask nothing: take the defaults and the flags given (needs PATH; for scripts)')
    .option('--force', 'with --yes: overwrite existing files')
    .action(async (path: string | undefined, opts: Record<string, unknown>) => (await import('./commands/scaffold.js')).scaffoldCommand(path, opts));

  cli
    .command('lint')
    .description('lint manifests and the sidecar configs inside them (for pre-commit and CI)')
    .argument('[paths...]', 'files or directories (default: the current directory); - reads stdin')
    .option('--format <format>', 'text, json, sarif (SARIF 2.1.0 for code scanning) or github (workflow commands: annotations on the pull request)', 'text')
    .option('--staged', 'lint the files staged in git, as the next commit holds them')
    .option('--kustomize <dir>', 'lint what `kubectl kustomize DIR` builds, findings at the source files the objects came from')
    .option('--profile <file>', 'profile file with a lint: section (default: .sidecarctl.yaml in this or a parent directory)')
    .action(async (paths: string[], opts: Record<string, unknown>) => (await import('./commands/lint.js')).lintCommand(paths, opts));

  cli
    .command('certs')
    .description('DEVELOPMENT ONLY: a throwaway CA and a kubernetes.io/tls Secret (tls.crt, tls.key, ca.crt) per workload, for --mtls-secret')
    .argument('[paths...]', 'the manifests you will inject (files, directories, or - for stdin)')
    .option('--days <n>', 'validity of the certificates in days', '30')
    .option('--trust-domain <domain>', 'SPIFFE trust domain of the identities (default: cluster.local, or the profile/annotation)')
    .option('--mtls-secret <name>', 'Secret name, {workload} standing for the workload name (default: {workload}-sidecarctl-mtls, or the profile/annotation)')
    .option('-o, --output <file>', 'write the Secrets to FILE (atomically, mode 0600) instead of stdout')
    .option('--profile <file>', 'profile file (default: .sidecarctl.yaml in this or a parent directory)')
    .addHelpText('after', "\nEach Secret is named as inject will look for it: inject with --mtls strict --mtls-secret '{workload}-sidecarctl-mtls'.\nIdentities are spiffe://TRUST-DOMAIN/ns/NAMESPACE/sa/SERVICEACCOUNT; DNS names come from the Services in the input.")
    .action(async (paths: string[], opts: Record<string, unknown>) => (await import('./commands/certs.js')).certsCommand(paths, opts));

  cli
    .command('proxy')
    .description('run the bundled sidecar proxy (what the bundled sidecar container runs)')
    .requiredOption('--config <file>', 'proxy config file (JSON; schema in schemas/proxy-config.schema.json)')
    .action(async (opts: { config: string }) => {
      const { runProxy } = await import('../proxy/main.js');
      // The proxy keeps the process alive; it exits on SIGTERM/SIGINT after draining.
      // A config it refuses at start is bad input: exit 2 with the config's message.
      await runProxy(opts.config, { handleSignals: true }).catch((error: Error) => {
        throw new UserError(error.message.replace(` ${opts.config}`, ""), opts.config);
      });
    });

  return cli;
}

const PLUGIN_KINDS = ['Inject', 'Uninject'];

export async function main(argv: string[]): Promise<number> {
  try {
    // Run as a kustomize exec plugin (kubectl kustomize --enable-alpha-plugins): an executable
    // named after the kind (a link to this binary at $KUSTOMIZE_PLUGIN_HOME/sidecarctl.io/v1/inject/Inject),
    // its config file as the argument, the resources on stdin.
    const invokedAs = basename(argv[1] ?? '');
    if (PLUGIN_KINDS.includes(invokedAs)) {
      const { kustomizePluginCommand } = await import('./commands/krm.js');
      return await kustomizePluginCommand(invokedAs, argv.slice(2));
    }
    // No command and piped input: a KRM function call (kpt fn eval --exec, kustomize's exec
    // KRM functions, which run the binary without arguments, a ResourceList on stdin).
    if (argv.length <= 2 && !process.stdin.isTTY) {
      const { readStdin } = await import('./io.js');
      const { isResourceList, krmCommand } = await import('./commands/krm.js');
      const text = await readStdin();
      if (!isResourceList(text)) throw new UserError('with no command, sidecarctl reads a KRM ResourceList (config.kubernetes.io/v1) on stdin; for manifests use sidecarctl inject -');
      return await krmCommand(text, undefined);
    }
    await program().parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help' ? 0 : EXIT_USAGE;
    }
    if (error instanceof UserError) {
      process.stderr.write(`sidecarctl: ${error.format()}\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(`sidecarctl: internal error: ${(error as Error).message}\n`);
    if (process.env.SIDECARCTL_DEBUG) process.stderr.write(`${(error as Error).stack}\n`);
    return EXIT_USAGE;
  }
}

const code = await main(process.argv);
process.exitCode = code;
