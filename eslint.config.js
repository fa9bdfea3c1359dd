import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

// What each top-level folder may import (docs/architecture.md). Tests wire through the composition
// root and test-support/, so the zones hold for the shipped code only.
const APP = ['batch-layer', 'speed-layer', 'kappa-reprocessor', 'query', 'measurement', 'serving-layer'];
const TOP = [...APP, 'scenarios', 'lab', 'cli', 'bench', 'test-support', 'dashboard'];
const others = (...allowed) => TOP.filter((dir) => !allowed.includes(dir)).map((dir) => `./${dir}`);
const zone = (target, allowed, message) => ({
  target: `./${target}`,
  from: others(target, ...allowed),
  message,
});
const LAYER_ZONES = [
  zone('kernel', [], 'The shared kernel imports only itself.'),
  zone('batch-layer', [], 'A layer imports only the shared kernel.'),
  zone('speed-layer', [], 'A layer imports only the shared kernel.'),
  zone('kappa-reprocessor', [], 'A layer imports only the shared kernel.'),
  zone(
    'query',
    ['batch-layer', 'speed-layer', 'kappa-reprocessor'],
    "The query module reads the layers' views only.",
  ),
  zone(
    'measurement',
    ['batch-layer', 'speed-layer', 'kappa-reprocessor', 'query'],
    'Measurement reads the layers and the query module, never the serving layer.',
  ),
  zone(
    'serving-layer',
    ['batch-layer', 'speed-layer', 'kappa-reprocessor', 'query', 'measurement'],
    'The serving layer takes the scenario service through serving-layer/scenario-service.ts; lab/ wires it.',
  ),
  zone(
    'scenarios',
    [...APP],
    'Scenarios get their lab from a LabFactory (scenarios/scenario-lab.ts), not from lab/.',
  ),
  zone('lab', [...APP, 'scenarios'], 'The composition root wires the layers; the CLI calls it.'),
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'dashboard/public/vendor/**', 'test-artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': [
        'error',
        {
          object: 'Date',
          property: 'now',
          message: 'Take a Clock (kernel/clock) instead of reading Date.now().',
        },
      ],
    },
  },
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.test.json' })],
    },
    rules: {
      // Also run by scripts/check-import-cycles.js (in `npm run lint`), which counts type-only imports.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
  {
    files: ['**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: { 'import-x/no-restricted-paths': ['error', { zones: LAYER_ZONES }] },
  },
  {
    // Outside a layer, only its surface: speed-layer/index.ts, batch-layer/index.ts,
    // kappa-reprocessor/index.ts (or a sub-folder's index). Its key layout stays inside.
    files: ['**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '(^|/)(speed-layer|batch-layer)/(?!index\\.js$)',
              message: 'Import the layer through its surface (speed-layer/index.js, batch-layer/index.js).',
            },
            {
              regex: '(^|/)kappa-reprocessor/(?!([a-z-]+/)?index\\.js$)',
              message:
                'Import the Kappa reprocessor through kappa-reprocessor/index.js (or a sub-folder index).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['bin/**/*.js', 'scripts/**/*.js', '*.config.js'],
    languageOptions: { globals: { URL: 'readonly', console: 'readonly', process: 'readonly' } },
  },
  {
    // The dashboard's browser modules (served as they are, no build step).
    files: ['dashboard/public/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(
        [
          'window',
          'document',
          'console',
          'fetch',
          'EventSource',
          'Node',
          'Intl',
          'performance',
          'setTimeout',
          'clearTimeout',
          'setInterval',
          'clearInterval',
          'encodeURIComponent',
          'sessionStorage',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
  {
    files: ['kernel/clock/**', 'bench/**', 'cli/**', '**/*.test.ts', 'scripts/**'],
    rules: { 'no-restricted-properties': 'off' },
  },
);
