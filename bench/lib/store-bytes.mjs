/**
 * Compares the stored bytes of two decision stores (replays of the same input by two builds):
 * each record of the alerts, decisions and changes tables, decompressed (lmdb getBinary), must
 * have the same length and differ in at most `--max-diff` bytes (default 8: the write's
 * createdAt / at, one msgpack float64). Index tables must hold the same keys, except the
 * alert_time index, whose keys start with the write time. Exits 1 on the first mismatch.
 *
 *   node bench/lib/store-bytes.mjs DIR_A DIR_B [--max-diff 8]
 */
import { open } from 'lmdb';

const [a, b] = process.argv.slice(2);
const maxDiff = process.argv.includes('--max-diff') ? Number(process.argv[process.argv.indexOf('--max-diff') + 1]) : 8;
const envs = [a, b].map((path) => open({ path, noSubdir: false, maxDbs: 16, readOnly: true }));
let bad = 0;
for (const name of ['alerts', 'decisions', 'changes']) {
  const [da, db] = envs.map((e) => e.openDB({ name, sharedStructuresKey: Symbol.for('palisade.structures'), compression: name === 'alerts' }));
  let n = 0, diffs = 0;
  for (const key of da.getKeys({})) {
    if (typeof key !== 'number') continue;
    const x = da.getBinary(key), y = db.getBinary(key);
    if (!y || x.length !== y.length) { console.log(`${name} ${key}: length ${x.length} vs ${y?.length}`); bad++; break; }
    let d = 0;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) d++;
    if (d > maxDiff) { console.log(`${name} ${key}: ${d} bytes differ`); bad++; break; }
    diffs += d; n++;
  }
  const nb = [...db.getKeys({})].filter((k) => typeof k === 'number').length;
  if (nb !== n && !bad) { console.log(`${name}: ${n} vs ${nb} records`); bad++; }
  console.log(`${name}: ${n} records, same lengths, ${diffs} differing bytes in all`);
}
for (const name of ['dec_value', 'dec_until', 'dec_addr', 'dec_alert']) {
  const [da, db] = envs.map((e) => e.openDB({ name, keyEncoding: 'binary', encoding: 'binary' }));
  const ka = [...da.getKeys({})].map((k) => Buffer.from(k).toString('hex'));
  const kb = [...db.getKeys({})].map((k) => Buffer.from(k).toString('hex'));
  const same = ka.length === kb.length && ka.every((k, i) => k === kb[i]);
  if (!same) bad++;
  console.log(`${name}: ${ka.length} vs ${kb.length} keys, ${same ? 'same' : 'DIFFERENT'}`);
}
process.exit(bad ? 1 : 0);
