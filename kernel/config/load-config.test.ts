import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LabError } from '../errors/lab-error.js';
import { DEFAULTS } from './defaults.js';
import { loadConfig } from './load-config.js';

function problemsOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof LabError) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig', () => {
  it('returns frozen defaults when nothing is set', () => {
    const c = loadConfig({ env: {} });
    expect(c.server).toEqual(DEFAULTS.server);
    expect(c.generator.rate).toBe(1000);
    expect(Object.isFrozen(c.server)).toBe(true);
    expect(c.dataDir.startsWith('/')).toBe(true);
  });

  it('layers file < env < flags', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lkl-cfg-'));
    const file = join(dir, 'lab.yaml');
    writeFileSync(file, 'server:\n  port: 4000\ngenerator:\n  rate: 10\n  seed: 5\n');
    const c = loadConfig({
      file,
      env: { LKLAB_RATE: '20', KAFKA_BROKERS: '127.0.0.1:19092, 127.0.0.1:19093' },
      overrides: { generator: { seed: 9 } },
    });
    expect(c.server.port).toBe(4000);
    expect(c.generator.rate).toBe(20);
    expect(c.generator.seed).toBe(9);
    expect(c.kafka.brokers).toEqual(['127.0.0.1:19092', '127.0.0.1:19093']);
  });

  it('rejects an unknown key in the file, naming the file, the setting and a suggestion', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lkl-cfg-'));
    const file = join(dir, 'lab.yaml');
    writeFileSync(file, 'generator:\n  rat: 10\n');
    const p = problemsOf(() => loadConfig({ file, env: {} }));
    expect(p.code).toBe('LKL_ERR_CONFIG_UNKNOWN_KEY');
    expect(p.message).toContain('generator.rat');
    expect(p.message).toContain(file);
    expect(p.message).toContain('did you mean "generator.rate"');
  });

  it('rejects invalid values naming the env var and the constraint', () => {
    const p = problemsOf(() => loadConfig({ env: { LKLAB_PORT: '70000', LKLAB_RATE: 'fast' } }));
    expect(p.code).toBe('LKL_ERR_CONFIG_INVALID');
    expect(p.message).toContain('server.port (from environment variable LKLAB_PORT)');
    expect(p.message).toContain('65535');
    expect(p.message).toContain(
      'generator.rate (from environment variable LKLAB_RATE): "fast" is not a number',
    );
  });

  it('rejects a bad broker address and an unreadable file', () => {
    expect(problemsOf(() => loadConfig({ env: { KAFKA_BROKERS: 'localhost' } })).message).toContain(
      'kafka.brokers.0',
    );
    expect(problemsOf(() => loadConfig({ file: '/nonexistent/lab.yaml', env: {} })).code).toBe(
      'LKL_ERR_CONFIG_FILE_UNREADABLE',
    );
  });
});
