// Worker side of test/parse/geoip-asn-table.test.ts: opens the shared GeoIP data passed in
// workerData (as a pool worker does) and answers the probes. Plain JS that registers tsx
// itself: under `node --test` a worker thread does not get the parent's tsx hooks.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();

const { importGeo } = await import('../../src/parse/enrichers/geoip.ts');
const { parseIp } = await import('../../src/core/ip.ts');
const { geo, probes } = workerData;
const asn = importGeo(geo).asn;
parentPort.postMessage({
  shared: geo.asn !== null && 'table' in geo.asn && geo.asn.table instanceof SharedArrayBuffer,
  answers: probes.map((p) => asn.asn(parseIp(p))),
});
