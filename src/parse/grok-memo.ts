/**
 * A grok's outcome per input text, for a grok on a Parsed key (node.ts compileGrokStep).
 *
 * A grok is a pure function of its input: the same text gives the same captures, written in
 * the same order. Some messages repeat word for word over a log ("pam_unix(sshd:session):
 * session opened for user bob(uid=1000) by (uid=0)": the pid is in the syslog header, not
 * in the message), and for them a Map lookup replaces the regex run and its result arrays.
 * Others never repeat (an address and port per line): there every lookup misses, so the memo
 * watches its hit rate and pauses itself where it does not pay.
 *
 * Equivalence: on a hit, `set(name, value)` runs for every semantic in order with the values
 * the match left in the map (for a name captured twice, its final value, written twice:
 * the same entries in the same order as the regex's copy); on a stored miss, nothing is
 * written, as for a failed match.
 */
import type { Grok } from '../grok/compile.js';

/** Lookups per window; below MIN_HITS hits in one, the memo pauses. */
const WINDOW = 1024;
const MIN_HITS = WINDOW / 4;
/** Calls a paused memo leaves to the grok before it tries again. */
const PAUSE = 32 * WINDOW;
/** Texts remembered before the memo starts over (log text is unbounded). */
const MAX_ENTRIES = 512;
/** Longer texts are never stored (their copy and hash cost more than a short regex run). */
const MAX_TEXT = 512;

/**
 * A copy of `s` that holds no other text: V8 keeps a substring of 13 characters or more as
 * a view on its whole parent (here a batch of lines). Flattening a concatenation copies the
 * characters once (split('').join('') also built an array of one string per character).
 */
function detach(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

export class GrokMemo {
  /** text → the semantics' values after a match, or null (no match). */
  private readonly seen = new Map<string, readonly string[] | null>();
  private lookups = 0;
  private hits = 0;
  /** Calls left before a paused memo looks again (0: active). */
  private paused = 0;

  constructor(private readonly grok: Grok) {}

  /**
   * grok.matchInto(text, out) (`prefiltered`: matchIntoPrefiltered, whose result is the
   * same), from the memo when the text was seen.
   */
  matchInto(text: string, out: Map<string, string>, prefiltered: boolean): boolean {
    if (this.paused > 0) {
      this.paused--;
      return this.run(text, out, prefiltered);
    }
    if (text.length > MAX_TEXT) return this.run(text, out, prefiltered);
    const seen = this.seen;
    const got = seen.get(text);
    let ok: boolean;
    if (got !== undefined) {
      this.hits++;
      if (got !== null) {
        const names = this.grok.semantics;
        for (let i = 0; i < names.length; i++) out.set(names[i]!, got[i]!);
      }
      ok = got !== null;
    } else {
      ok = this.run(text, out, prefiltered);
      if (seen.size >= MAX_ENTRIES) seen.clear();
      // Copies: the text and captures are slices of a whole batch, which a key would keep alive.
      seen.set(detach(text), ok ? this.grok.semantics.map((n) => detach(out.get(n)!)) : null);
    }
    if (++this.lookups === WINDOW) {
      if (this.hits < MIN_HITS) {
        this.paused = PAUSE;
        seen.clear();
      }
      this.lookups = this.hits = 0;
    }
    return ok;
  }

  private run(text: string, out: Map<string, string>, prefiltered: boolean): boolean {
    return prefiltered ? this.grok.matchIntoPrefiltered(text, out) : this.grok.matchInto(text, out);
  }
}
