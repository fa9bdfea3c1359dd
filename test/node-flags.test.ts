import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LAB_NODE_FLAGS, hasLabNodeFlags } from '../kernel/util/node-flags.js';
import { projectRoot } from '../kernel/util/project-root.js';

const read = (f: string): string => readFileSync(join(projectRoot(), f), 'utf8');

describe('the V8 flags of a lab process are the same in every launcher', () => {
  const flags = LAB_NODE_FLAGS.join(' ');

  it('bin/lklab.js passes them on its shebang line', () => {
    expect(read('bin/lklab.js').split('\n')[0]).toBe(`#!/usr/bin/env -S node ${flags}`);
  });

  it('npm start passes them', () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe(`node ${flags} bin/lklab.js start`);
  });

  it('the Docker image passes them', () => {
    expect(read('Dockerfile')).toContain(
      `ENTRYPOINT ["node", ${LAB_NODE_FLAGS.map((f) => JSON.stringify(f)).join(', ')}, "bin/lklab.js"]`,
    );
  });

  it('hasLabNodeFlags tells a process started with them from one without', () => {
    expect(hasLabNodeFlags([...LAB_NODE_FLAGS, '--enable-source-maps'])).toBe(true);
    expect(hasLabNodeFlags(['--enable-source-maps'])).toBe(false);
  });
});
