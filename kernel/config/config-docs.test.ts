import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from './defaults.js';
import { ENV_SETTINGS } from './load-config.js';

const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');

function leaves(obj: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(obj).flatMap(([k, v]) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? leaves(v as Record<string, unknown>, `${prefix}${k}.`)
      : [`${prefix}${k}`],
  );
}

describe('docs/configuration.md', () => {
  it('lists every setting with its default', () => {
    for (const path of leaves(DEFAULTS)) {
      // Prettier pads table cells: "| `server.host`    | `127.0.0.1` |".
      const row = doc
        .split('\n')
        .find((l) => new RegExp(`^\\| \`${path.replace(/\./g, '\\.')}\` +\\|`).test(l));
      expect(row, `setting ${path} is not documented`).toBeDefined();
      const value = path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], DEFAULTS);
      const shown = Array.isArray(value) ? '[]' : value === '' ? '""' : String(value);
      expect(row, `default of ${path}`).toContain(`\`${shown}\``);
    }
  });

  it('lists every environment variable', () => {
    for (const name of Object.keys(ENV_SETTINGS))
      expect(doc).toMatch(new RegExp(`^\\| \`${name}\` +\\|`, 'm'));
  });
});
