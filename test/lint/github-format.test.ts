/** `--format github`: one workflow command per finding, as the Actions runner parses them. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/corpus.js';
import { formatGithub } from '../../src/lint/reporters/github.js';

const BIN = join(ROOT, 'bin/sidecarctl.js');

describe('--format github', () => {
  it('the planted defects come out as ::error/::warning commands with file, line and col; exit 1', () => {
    const fixture = join(ROOT, 'test/lint/fixtures/hand-written.yaml');
    const r = spawnSync(process.execPath, [BIN, 'lint', '--format', 'github', fixture], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) expect(line).toMatch(/^::(error|warning|notice) file=[^,]+,line=\d+,col=\d+,title=sidecarctl [a-z0-9-]+::\S/);
    expect(lines.some((l) => l.startsWith('::error '))).toBe(true);
  });

  it('escapes what the runner would read as syntax', () => {
    const out = formatGithub([{ rule: 'k8s-schema', severity: 'info', message: '100% sure\nnext: line', file: 'a,b:c.yaml', line: 3, col: 1 }]);
    expect(out).toBe('::notice file=a%2Cb%3Ac.yaml,line=3,col=1,title=sidecarctl k8s-schema::100%25 sure%0Anext: line\n');
  });
});
