/**
 * The IP set works outside Node too: headless Chromium loads build/palisade.wasm through the
 * browser-safe binding (src/bindings/ipset-core.ts and the TS parser it uses, transpiled on
 * the fly, no Node APIs), inserts the same prefixes, and must answer the same texts with the
 * same ids as Node.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWasmPrefixSet } from '../../src/bindings/ipset-wasm.js';
import { parseAddressWords } from '../../src/decisions/ipset.js';
import { prng, withModulePage } from './support.js';

const SERVED: Record<string, string> = {
  '/bindings/ipset-core.js': 'src/bindings/ipset-core.ts',
  '/bindings/abi.generated.js': 'src/bindings/abi.generated.ts',
  '/decisions/ipset.js': 'src/decisions/ipset.ts',
};

const PAGE = `<!doctype html><meta charset="utf-8"><title>palisade.wasm IP set</title>
<script type="module">
import { instantiatePrefixSet } from '/bindings/ipset-core.js';
import { parseAddressWords } from '/decisions/ipset.js';
const mod = await WebAssembly.compile(await (await fetch('/palisade.wasm')).arrayBuffer());
window.runCase = (prefixes, queries) => {
  const s = instantiatePrefixSet(mod);
  const w = new Int32Array(4);
  prefixes.forEach(([text, len], i) => { parseAddressWords(text, w); s.insert(i + 1, w, len); });
  const out = new Uint32Array(queries.length);
  s.lookupTextBatch(queries, out);
  return Array.from(out, (h) => (h === 0xffffffff ? 'invalid' : Array.from(s.idsAt(h)).sort((a, b) => a - b)));
};
window.nodeLike = typeof process !== 'undefined' || typeof Buffer !== 'undefined';
window.ready = true;
</script>`;

function data(): { prefixes: [string, number][]; queries: string[] } {
  const r = prng(4242);
  const prefixes: [string, number][] = [];
  const queries: string[] = ['not an ip', '01.2.3.4', 'fe80::1%eth0', '::ffff:10.0.0.1'];
  for (let i = 0; i < 3000; i++) {
    const v4 = `10.${Math.floor(r() * 4)}.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}`;
    const v6 = `2001:db8:${Math.floor(r() * 16).toString(16)}::${Math.floor(r() * 65536).toString(16)}`;
    if (r() < 0.7) prefixes.push([v4, 96 + [8, 16, 20, 24, 32, 32][Math.floor(r() * 6)]!]);
    else prefixes.push([v6, [32, 48, 64, 128, 128][Math.floor(r() * 5)]!]);
    queries.push(r() < 0.7 ? v4 : v6);
  }
  return { prefixes, queries };
}

test('headless Chromium answers IP-set lookups like Node (same wasm, browser-safe binding)', (t) =>
  withModulePage(t, PAGE, SERVED, async ({ runCase }) => {
    const { prefixes, queries } = data();
    const got = await runCase(prefixes, queries);
    const s = createWasmPrefixSet();
    const w = new Int32Array(4);
    prefixes.forEach(([text, len], i) => { parseAddressWords(text, w); s.insert(i + 1, w, len); });
    const out = new Uint32Array(queries.length);
    s.lookupTextBatch(queries, out);
    const want = Array.from(out, (h) => (h === 0xffffffff ? 'invalid' : [...s.idsAt(h)].sort((a, b) => a - b)));
    assert.deepEqual(got, want);
    assert.ok(want.filter((x) => x !== 'invalid' && x.length > 0).length > 2000, 'most queries hit');
  }));
