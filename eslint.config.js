import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
    files: ['bin/**/*.js', '*.config.js'],
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
