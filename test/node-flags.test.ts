import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  LAB_MALLOC_ENV,
  LAB_NODE_FLAGS,
  hasLabNodeFlags,
  labMallocAssignments,
  labProcessEnv,
} from '../kernel/util/node-flags.js';
import { projectRoot } from '../kernel/util/project-root.js';

const read = (f: string): string => readFileSync(join(projectRoot(), f), 'utf8');

describe('the V8 flags and malloc settings of a lab process are the same in every launcher', () => {
  const flags = LAB_NODE_FLAGS.join(' ');
  const malloc = labMallocAssignments();

  it('bin/lklab.js sets them on its shebang line', () => {
    const shebang = read('bin/lklab.js').split('\n')[0]!;
    expect(shebang).toBe(`#!/usr/bin/env -S ${malloc} node ${flags}`);
    // Linux reads at most 255 bytes of a shebang line.
    expect(Buffer.byteLength(shebang)).toBeLessThan(256);
  });

  it('npm start sets them', () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe(`${malloc} node ${flags} bin/lklab.js start`);
  });

  it('the Docker image sets them', () => {
    const dockerfile = read('Dockerfile');
    expect(dockerfile).toContain(
      `ENTRYPOINT ["node", ${LAB_NODE_FLAGS.map((f) => JSON.stringify(f)).join(', ')}, "bin/lklab.js"]`,
    );
    expect(dockerfile).toContain(`ENV ${malloc}\n`);
  });

  it('hasLabNodeFlags tells a process started with them from one without', () => {
    const env = labProcessEnv({ PATH: '/usr/bin' });
    expect(env.PATH).toBe('/usr/bin');
    expect(hasLabNodeFlags([...LAB_NODE_FLAGS, '--enable-source-maps'], env)).toBe(true);
    expect(hasLabNodeFlags(['--enable-source-maps'], env)).toBe(false);
    expect(hasLabNodeFlags([...LAB_NODE_FLAGS], { PATH: '/usr/bin' })).toBe(false);
    for (const [k, v] of Object.entries(LAB_MALLOC_ENV)) expect(env[k]).toBe(v);
  });
});
