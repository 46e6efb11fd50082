/**
 * The module works outside Node: headless Chromium (Debian's, via playwright-core) loads
 * build/palisade.wasm through the browser-safe binding core (src/bindings/wasm-core.ts,
 * transpiled on the fly, no Node APIs) from a loopback HTTP server, runs the same batches as
 * Node, and must return identical lines, prefilter masks and field records.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { chromium } from 'playwright-core';
import { WASM_PATH, createWasmScanner } from '../../src/bindings/wasm.js';
import { compilePrefilter } from '../../src/bindings/prefilter-plan.js';
import { bytes, ensureWasm, mutate, prng, randomBytes } from './support.js';
import { generateNginx, generateSshd } from '../../fixtures/generate-bf-logs.js';

const CHROMIUM = '/usr/bin/chromium';
const root = fileURLToPath(new URL('../..', import.meta.url));
const SERVED = new Set(['wasm-core', 'abi.generated', 'prefilter-plan', 'types']);

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

function serve(): Promise<Server> {
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    const js = /^\/bindings\/([\w.-]+)\.js$/.exec(url);
    if (url === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    } else if (url === '/palisade.wasm') {
      res.writeHead(200, { 'content-type': 'application/wasm' }).end(readFileSync(WASM_PATH));
    } else if (js && SERVED.has(js[1]!)) {
      const src = readFileSync(`${root}src/bindings/${js[1]}.ts`, 'utf8');
      const out = ts.transpileModule(src, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } });
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(out.outputText);
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

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

test('headless Chromium gets the same results as Node from palisade.wasm', async (t) => {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI) assert.fail(`${CHROMIUM} is missing (apt-get install chromium)`);
    t.skip(`${CHROMIUM} is missing (apt-get install chromium)`);
    return;
  }
  ensureWasm();
  const server = await serve();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => (globalThis as unknown as { ready?: boolean }).ready === true || false, null, { timeout: 20000 })
      .catch((e: Error) => assert.fail(`page did not load the module: ${errors.join('; ') || e.message}`));
    assert.equal(await page.evaluate(() => (globalThis as unknown as { nodeLike: boolean }).nodeLike), false);
    const node = createWasmScanner();
    let lines = 0;
    for (const [i, c] of cases().entries()) {
      const got = (await page.evaluate(
        ([input, final, nodes]) => (globalThis as unknown as { runCase: (...a: unknown[]) => unknown }).runCase(input, final, nodes),
        [c.input, c.final, c.nodes] as const,
      )) as Result;
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
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    server.close();
  }
});
