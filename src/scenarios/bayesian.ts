/**
 * bayesian (newer CrowdSec, spec §4.1): after each accepted pour the posterior is recomputed
 * from the prior by applying every condition in order — Bayes' rule with
 * P(cond|evil)/P(cond|benign) when the condition holds, with their complements when it does
 * not. Posterior > threshold overflows (Ovflw_ts = Last_ts). A condition with `guillotine`
 * stops being evaluated once it has been true and then counts as true for the rest of the
 * bucket's life. CrowdSec keeps that state in a processor shared by every bucket of the
 * scenario; we keep it per bucket instance, which is what the option describes.
 * Arithmetic is float32, as in Go (Math.fround after every operation).
 */
import type { PEvent } from '../core/event.js';
import type { BucketRow } from './table.js';

const f = Math.fround;

/** P(evil | observation) from the prior and the observation's likelihoods, in float32. */
export function bayesUpdate(prior: number, probGivenEvil: number, probGivenBenign: number): number {
  const numerator = f(f(probGivenEvil) * f(prior));
  const denominator = f(numerator + f(f(probGivenBenign) * f(1 - f(prior))));
  return f(numerator / denominator);
}

/** Recomputes the posterior for this pour; returns true when it exceeds the threshold. */
export function bayesianOverflows(row: BucketRow, evt: PEvent, onError: (msg: string) => void): boolean {
  const spec = row.spec;
  const conds = spec.bayesianConditions;
  const gl = (row.guillotine ??= conds.map(() => false));
  let posterior = spec.bayesianPrior;
  for (let i = 0; i < conds.length; i++) {
    const c = conds[i]!;
    if (c.guillotine && gl[i]) {
      posterior = bayesUpdate(posterior, c.probGivenEvil, c.probGivenBenign);
      continue;
    }
    let r: unknown;
    try {
      r = c.condition.run({ evt, queue: row.queue, leaky: row });
    } catch (e) {
      onError(`${spec.name}: bayesian condition ${i} failed: ${(e as Error).message}`);
      continue;
    }
    if (typeof r !== 'boolean') {
      onError(`${spec.name}: bayesian condition ${i} returned ${typeof r}, not a bool`);
      continue;
    }
    if (r) {
      posterior = bayesUpdate(posterior, c.probGivenEvil, c.probGivenBenign);
      gl[i] = true;
    } else {
      posterior = bayesUpdate(posterior, f(1 - c.probGivenEvil), f(1 - c.probGivenBenign));
    }
  }
  if (posterior > spec.bayesianThreshold) {
    row.ovflwTs = row.lastTs;
    return true;
  }
  return false;
}
