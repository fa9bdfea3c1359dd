import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from './error-codes.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

describe('docs/errors.md', () => {
  const documented = [...doc.matchAll(/^## (LKL_ERR_[A-Z_]+)\s*$/gm)].map((m) => m[1]);

  it('lists exactly the codes of the catalogue, each once', () => {
    expect([...documented].sort()).toEqual(Object.keys(ERROR_CODES).sort());
    expect(new Set(documented).size).toBe(documented.length);
  });

  it('says how to solve every code', () => {
    const sections = doc.split(/^## /m).slice(1);
    for (const section of sections) {
      const code = section.split('\n')[0]!.trim();
      expect(section, `${code} has no "How to solve"`).toMatch(/\*\*How to solve:\*\* \S/);
    }
  });

  it('knows every code the local stack script raises', () => {
    const script = readFileSync(new URL('../../scripts/stack/stack.sh', import.meta.url), 'utf8');
    const used = new Set(
      [...script.matchAll(/LKL_ERR_[A-Z_]+[A-Z]/g)].map((m) => m[0]).filter((c) => c !== 'LKL_ERR_CODE'),
    );
    expect(used.size).toBeGreaterThan(3);
    for (const code of used)
      expect(Object.keys(ERROR_CODES), `${code} (scripts/stack/stack.sh)`).toContain(code);
  });

  it('uses codes of the form LKL_ERR_<AREA>_<WHAT>', () => {
    for (const code of Object.keys(ERROR_CODES)) expect(code).toMatch(/^LKL_ERR_[A-Z]+_[A-Z_]+$/);
  });
});
