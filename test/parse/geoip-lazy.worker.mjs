// Worker side of test/parse/geoip-lazy.test.ts: imports the shared GeoIP data (as a pool
// worker does), looks up the probes and reports whether the IPv6 file was loaded.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();

const { importGeo } = await import('../../src/parse/enrichers/geoip.ts');
const { parseIp } = await import('../../src/core/ip.ts');
const { geo, probes } = workerData;
const city = importGeo(geo).city;
const answers = probes.map((p) => city.city(parseIp(p)));
parentPort.postMessage({ answers, loaded: city.lazyV6.loaded });
