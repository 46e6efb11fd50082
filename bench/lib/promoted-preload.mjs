/**
 * Preload (`node --import ./bench/lib/promoted-preload.mjs bin/palisade.js replay ...`): samples
 * the main thread's allocations that outlive the young generation (objects scavenges collect
 * are left out; those full GCs collect are kept: what this thread promotes, or allocates
 * straight in old space) for the whole run, and writes PROMOTED_OUT (default
 * /tmp/promoted-PID.heapprofile) at exit. Read it with bench/lib/heap-top.mjs.
 * PROMOTED_ALL=1: every sampled allocation instead (those scavenges collected too).
 */
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

if (isMainThread) {
  const out = process.env.PROMOTED_OUT ?? `/tmp/promoted-${process.pid}.heapprofile`;
  const session = new Session();
  session.connect();
  session.post('HeapProfiler.enable');
  session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: process.env.PROMOTED_ALL === '1' });
  process.on('exit', () => {
    // The inspector session answers synchronously on the main thread.
    session.post('HeapProfiler.stopSampling', (err, r) => {
      if (!err) writeFileSync(out, JSON.stringify(r.profile));
      process.stderr.write(err ? `promoted profile: ${err.message}\n` : `promoted profile: ${out}\n`);
    });
  });
}
