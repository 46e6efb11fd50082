/**
 * Preload (`node --import ./bench/lib/thread-cpu.mjs bin/palisade.js ...`): at exit, prints on
 * stderr the CPU time of this process's threads (from /proc/self/task/<tid>/stat, sampled every
 * 200 ms so threads that ended before exit, e.g. parse workers, still count) grouped as the
 * main thread, V8's helper threads (parallel scavenges, concurrent marking: "V8 DefaultWorke"),
 * other named threads (libuv, workers), and the main thread's GC counts and pause times
 * (PerformanceObserver 'gc'; pauses only: the helpers' share is in their own row).
 * With THREAD_CPU_LINES=N it also prints the main thread's µs per line.
 */
import { appendFileSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { constants, PerformanceObserver } from 'node:perf_hooks';

// Worker threads (the preload runs in them too) note their tid, so the main thread can tell
// them from V8's and libuv's threads (all named "node" otherwise).
const workersFile = `/tmp/thread-cpu-${process.pid}.workers`;
if (!isMainThread) {
  try { appendFileSync(workersFile, readlinkSync('/proc/thread-self').split('/').pop() + '\n'); } catch { /* no /proc */ }
}
if (isMainThread) {
  const tick = 100; // USER_HZ on Linux
  const seen = new Map();
  const sample = () => {
    let tids;
    try { tids = readdirSync('/proc/self/task'); } catch { return; }
    for (const tid of tids) {
      try {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'latin1');
        const close = stat.lastIndexOf(')');
        const comm = stat.slice(stat.indexOf('(') + 1, close);
        const f = stat.slice(close + 2).split(' ');
        // Fields after the comm: state is f[0]; utime, stime are fields 14, 15 (1-based) overall.
        seen.set(tid, { comm, user: Number(f[11]) / tick, sys: Number(f[12]) / tick });
      } catch { /* thread ended */ }
    }
  };
  const gc = { minor: 0, minorMs: 0, major: 0, majorMs: 0 };
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) { gc.minor++; gc.minorMs += e.duration; }
      else { gc.major++; gc.majorMs += e.duration; }
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  const timer = setInterval(sample, 200);
  timer.unref();
  process.on('exit', () => {
    sample();
    const groups = new Map();
    const main = String(process.pid);
    let workers = new Set();
    try { workers = new Set(readFileSync(workersFile, 'utf8').split('\n').filter(Boolean)); rmSync(workersFile); } catch { /* none */ }
    for (const [tid, t] of seen) {
      const g = tid === main ? 'main' : workers.has(tid) ? 'worker' : t.comm === 'node' ? 'v8/libuv helpers' : t.comm;
      const x = groups.get(g) ?? { n: 0, user: 0, sys: 0 };
      x.n++; x.user += t.user; x.sys += t.sys;
      groups.set(g, x);
    }
    const lines = Number(process.env.THREAD_CPU_LINES ?? 0);
    const rows = [...groups].sort((a, b) => (b[1].user + b[1].sys) - (a[1].user + a[1].sys));
    const out = rows.map(([g, x]) => {
      const s = x.user + x.sys;
      return `  ${g.padEnd(16)} x${x.n} ${s.toFixed(2)} s (user ${x.user.toFixed(2)}, sys ${x.sys.toFixed(2)})${lines > 0 ? ` = ${(s * 1e6 / lines).toFixed(2)} us/line` : ''}`;
    });
    if (process.env.THREAD_CPU_EACH) {
      for (const [tid, t] of seen) process.stderr.write(`  tid ${tid} ${t.comm} ${(t.user + t.sys).toFixed(2)} s${workers.has(tid) ? ' (worker)' : ''}\n`);
    }
    process.stderr.write(`thread cpu:\n${out.join('\n')}\n  main gc: ${gc.minor} scavenges ${gc.minorMs.toFixed(0)} ms, ${gc.major} major ${gc.majorMs.toFixed(0)} ms\n`);
  });
}
