/**
 * The module works outside Node: headless Chromium (Debian's, via playwright-core) loads
 * build/palisade.wasm through the browser-safe binding core (src/bindings/wasm-core.ts,
 * transpiled on the fly, no Node APIs) from a loopback HTTP server, runs the same batches as
 * Node, and must return identical lines, prefilter masks and field records.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWasmScanner } from '../../src/bindings/wasm.js';
import { compilePrefilter } from '../../src/bindings/prefilter-plan.js';
import { bytes, mutate, prng, randomBytes, withModulePage } from './support.js';
import { generateNginx, generateSshd } from '../../fixtures/generate-bf-logs.js';

const SERVED = Object.fromEntries(['wasm-core', 'abi.generated', 'prefilter-plan', 'types']
  .map((m) => [`/bindings/${m}.js`, `src/bindings/${m}.ts`]));

const PAGE = `<!doctype html><meta charset="utf-8"><title>palisade.wasm</title>
<script type="module">
import { compileWasm, instantiateScanner } from '/bindings/wasm-core.js';
import { compilePrefilter } from '/bindings/prefilter-plan.js';
const mod = await compileWasm(await (await fetch('/palisade.wasm')).arrayBuffer());
const s = instantiateScanner(mod);
window.runCase = (input, final, nodes) => {
  const l = s.scanLines(Uint8Array.from(input), final);
  const out = { count: l.count, consumed: l.consumed, lines: Array.from(l.lines) };
  const p = s.prefilter(compilePrefilter(nodes));
  out.lit = Array.from(p.literalMasks); out.node = Array.from(p.nodeMasks); out.candidates = p.candidates;
  out.syslog = Array.from(s.scanSyslog()); out.access = Array.from(s.scanAccessLog());
  return out;
};
window.nodeLike = typeof process !== 'undefined' || typeof Buffer !== 'undefined';
window.ready = true;
</script>`;

type Result = { count: number; consumed: number; lines: number[]; lit: number[]; node: number[]; candidates: number; syslog: number[]; access: number[] };

function cases(): { input: number[]; final: boolean; nodes: string[][] }[] {
  const rand = prng(77);
  const sshd = bytes(generateSshd(300, 4));
  const nginx = bytes(generateNginx(300, 4));
  const rfc = bytes('<34>1 2003-10-11T22:14:15.003Z host su - ID47 [a b="c\\]"] msg\r\n<13>2024-03-01T10:00:00Z h p[1]: x\nmid-li');
  const nodes = [['Failed password', ' from '], ['Invalid user'], ['GET '], ['HTTP/1.1" 404'], [], ['\u00e9']];
  const out = [
    { input: Array.from(sshd), final: true, nodes },
    { input: Array.from(nginx), final: false, nodes },
    { input: Array.from(rfc), final: false, nodes },
  ];
  for (let i = 0; i < 6; i++) {
    const src = i % 2 ? randomBytes(rand, 3000) : mutate(rand, i % 4 ? sshd : nginx, 0.03);
    out.push({ input: Array.from(src), final: i % 3 === 0, nodes });
  }
  return out;
}

test('headless Chromium gets the same results as Node from palisade.wasm', (t) =>
  withModulePage(t, PAGE, SERVED, async ({ runCase }) => {
    const node = createWasmScanner();
    let lines = 0;
    for (const [i, c] of cases().entries()) {
      const got = (await runCase(c.input, c.final, c.nodes)) as Result;
      const l = node.scanLines(Uint8Array.from(c.input), c.final);
      const p = node.prefilter(compilePrefilter(c.nodes));
      const want: Result = {
        count: l.count, consumed: l.consumed, lines: Array.from(l.lines), lit: Array.from(p.literalMasks),
        node: Array.from(p.nodeMasks), candidates: p.candidates, syslog: Array.from(node.scanSyslog()), access: Array.from(node.scanAccessLog()),
      };
      assert.deepEqual(got, want, `case ${i}`);
      lines += l.count;
    }
    assert.ok(lines > 600, `compared ${lines} lines`);
  }));
