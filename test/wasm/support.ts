/**
 * Shared by the WASM tests: builds build/palisade.wasm when it is missing or older than an
 * assembly/ source (CI builds it in `npm run build`; this keeps `node test/run.mjs wasm`
 * working right after an edit), a seeded PRNG, helpers to run both implementations, and the
 * headless-Chromium harness of the browser*.test.ts files.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { WASM_PATH, createWasmScanner } from '../../src/bindings/wasm.js';
import { createTwinScanner } from '../../src/bindings/scanner-twin.js';
import type { BatchScanner } from '../../src/bindings/types.js';
import type { PrefilterPlan } from '../../src/bindings/prefilter-plan.js';
import { mulberry32 as prng } from '../../fixtures/seeded.js';
export { prng };

const root = fileURLToPath(new URL('../..', import.meta.url));

export function ensureWasm(): void {
  const srcDir = join(root, 'assembly');
  const newest = Math.max(...readdirSync(srcDir).filter((f) => f.endsWith('.ts')).map((f) => statSync(join(srcDir, f)).mtimeMs));
  if (existsSync(WASM_PATH) && statSync(WASM_PATH).mtimeMs >= newest) return;
  const r = spawnSync(process.execPath, [join(root, 'scripts/build-wasm.mjs')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`build-wasm failed:\n${r.stdout}\n${r.stderr}`);
}

export function bothScanners(): [BatchScanner, BatchScanner] {
  ensureWasm();
  return [createWasmScanner(), createTwinScanner()];
}


export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
export const latin1 = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** Field text of span [s, e) in batch, or null for NONE. */
export function spanText(batch: Uint8Array, rec: Uint32Array, at: number): string | null {
  const s = rec[at]!;
  const e = rec[at + 1]!;
  if (s === 0xffffffff) return null;
  return Buffer.from(batch.buffer, batch.byteOffset + s, e - s).toString('latin1');
}

/** Runs every method of both scanners on one batch and asserts identical results. */
export function assertSameResults(
  w: BatchScanner,
  t: BatchScanner,
  batch: Uint8Array,
  final: boolean,
  plan: PrefilterPlan | null,
  label: string,
): { count: number; consumed: number } {
  const a = w.scanLines(batch, final);
  const b = t.scanLines(batch, final);
  assert.equal(a.count, b.count, `${label}: line count`);
  assert.equal(a.consumed, b.consumed, `${label}: consumed`);
  assert.deepEqual(Array.from(a.lines), Array.from(b.lines), `${label}: line offsets`);
  if (plan) {
    const pa = w.prefilter(plan);
    const pb = t.prefilter(plan);
    assert.equal(pa.litWords, pb.litWords, `${label}: litWords`);
    assert.equal(pa.nodeWords, pb.nodeWords, `${label}: nodeWords`);
    assert.deepEqual(Array.from(pa.literalMasks), Array.from(pb.literalMasks), `${label}: literal masks`);
    assert.deepEqual(Array.from(pa.nodeMasks), Array.from(pb.nodeMasks), `${label}: node masks`);
    assert.equal(pa.candidates, pb.candidates, `${label}: candidates`);
  }
  assertSameRecords(w.scanSyslog(), t.scanSyslog(), 17, `${label}: syslog`);
  assertSameRecords(w.scanAccessLog(), t.scanAccessLog(), 25, `${label}: access log`);
  return { count: a.count, consumed: a.consumed };
}

function assertSameRecords(a: Uint32Array, b: Uint32Array, words: number, label: string): void {
  assert.equal(a.length, b.length, `${label}: record words`);
  for (let i = 0; i < a.length; i += words) {
    // Compare line by line so a failure names the line instead of dumping the batch.
    const ra = Array.from(a.subarray(i, i + words));
    const rb = Array.from(b.subarray(i, i + words));
    assert.deepEqual(ra, rb, `${label}: line ${i / words}`);
  }
}

const ALPHABET = ' \n\r[]"\\:<>-./T+Z01234567899 aAzJanDecFebsd\x00\x7f\x80\xc3\xa9\xff\xfe';

/** Random bytes biased towards the structural characters the scanners look at. */
export function randomBytes(rand: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = ALPHABET.charCodeAt(Math.floor(rand() * ALPHABET.length));
  return out;
}

/** A copy of `src` with about `rate` of its bytes replaced, deleted or duplicated. */
export function mutate(rand: () => number, src: Uint8Array, rate: number): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < src.length; i++) {
    const r = rand();
    if (r < rate / 3) out.push(ALPHABET.charCodeAt(Math.floor(rand() * ALPHABET.length)));
    else if (r < (2 * rate) / 3) continue;
    else if (r < rate) out.push(src[i]!, src[i]!);
    else out.push(src[i]!);
  }
  return Uint8Array.from(out);
}

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** What a browser test sees of its page: the page itself and a call into the page's `window.runCase`. */
export interface ModulePage {
  page: Page;
  /** Calls `window.runCase(...args)` in the page; arguments and result are serialized by playwright (plain data only). */
  runCase(...args: unknown[]): Promise<unknown>;
}

/**
 * Serves `html` at /, build/palisade.wasm at /palisade.wasm and each `served` URL (URL path ->
 * repo-relative .ts source, transpiled to an ES module per request) over loopback, opens the
 * page in Debian's headless Chromium through playwright-core and waits for the page to set
 * `window.ready`. Asserts the page has no Node globals (`window.nodeLike` is false), runs
 * `body`, then asserts the page threw no error. Skips with the reason when chromium is missing
 * (fails under CI instead). Server and browser are closed whatever happens.
 */
export async function withModulePage(
  t: TestContext,
  html: string,
  served: Record<string, string>,
  body: (m: ModulePage) => Promise<void>,
): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI) assert.fail(`${CHROMIUM} is missing (apt-get install chromium)`);
    t.skip(`${CHROMIUM} is missing (apt-get install chromium)`);
    return;
  }
  ensureWasm();
  // Loaded here, not at the top, so the other WASM tests that share this file skip their cost.
  const [{ chromium }, { default: ts }] = await Promise.all([import('playwright-core'), import('typescript')]);
  const transpile = (file: string): string => ts.transpileModule(readFileSync(join(root, file), 'utf8'), {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
  }).outputText;
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(html);
    } else if (url === '/palisade.wasm') {
      res.writeHead(200, { 'content-type': 'application/wasm' }).end(readFileSync(WASM_PATH));
    } else if (Object.hasOwn(served, url)) {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(transpile(served[url]!));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      await page.waitForFunction(() => (globalThis as unknown as { ready?: boolean }).ready === true || false, null, { timeout: 20000 })
        .catch((e: Error) => assert.fail(`page did not load the module: ${errors.join('; ') || e.message}`));
      assert.equal(await page.evaluate(() => (globalThis as unknown as { nodeLike: boolean }).nodeLike), false);
      const runCase = (...args: unknown[]): Promise<unknown> =>
        page.evaluate((a) => (globalThis as unknown as { runCase: (...x: unknown[]) => unknown }).runCase(...a), args);
      await body({ page, runCase });
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  } finally {
    await closeServer(server);
  }
}

function closeServer(server: Server): Promise<void> {
  // The browser is gone by now; drop any socket it left so close() cannot wait on it.
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
