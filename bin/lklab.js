#!/usr/bin/env -S MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 MALLOC_TRIM_THRESHOLD_=131072 node --initial-old-space-size=80 --max-semi-space-size=8
// The V8 flags and malloc settings above are LAB_NODE_FLAGS and LAB_MALLOC_ENV (kernel/util/node-flags.ts): keep them in step.
// Entry point of the `lklab` CLI. The TypeScript sources are compiled to dist/ by `npm run build`.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error('lklab: dist/ is missing. Run `npm run build` (or `npm start`, which builds first).');
  process.exit(2);
}
const { run } = await import(main.href);
await run(process.argv);
