// Bundles a benchmark entry (TypeScript, with the src/ it imports) into one plain ES module,
// .bench-build/<name>.mjs, that node runs without a loader. Why: under `node --import tsx`,
// node 20 runs the module hooks on a thread of their own, with its own V8 heap whose
// memory-reducer GCs (3-10 ms) land in the middle of a latency measurement, in the load
// generator and in the server alike; and `palisade lapi` itself runs compiled JS, no loader.
// Usage: node scripts/bundle-bench.mjs bench/lapi-load.ts
import { build } from 'esbuild';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const entry = process.argv[2];
if (!entry) {
  process.stderr.write('usage: node scripts/bundle-bench.mjs ENTRY.ts\n');
  process.exit(2);
}
const root = fileURLToPath(new URL('..', import.meta.url));
// One level below the root, as bench/ is, so that `new URL('..', import.meta.url)` in the bundle still names
// the repository root and packages resolve from its node_modules.
const outfile = join(root, '.bench-build', basename(entry).replace(/\.ts$/, '.mjs'));
try {
  await build({
    entryPoints: [join(root, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'inline',
    logLevel: 'warning',
    // Bundled CommonJS-style requires (createRequire users keep theirs) need a `require`.
    banner: { js: "import { createRequire as __palisadeCreateRequire } from 'node:module'; const require = __palisadeCreateRequire(import.meta.url);" },
  });
} catch (e) {
  process.stderr.write(`bundle-bench: ${entry}: ${e.message}\n`);
  process.exit(1);
}
