/**
 * The ABI of palisade.wasm: every region offset, capacity and record layout, defined once.
 * scripts/gen-abi.mjs copies these into src/bindings/abi.generated.ts (test/wasm/abi.test.ts
 * fails when the copy is stale). Format rule for the generator: one
 * `export const NAME: u32 = <integer expression over earlier names>;` per line.
 *
 * Linear memory (fixed regions, no allocator: the module never calls heap.alloc, so several
 * runtimes or instances can reason about the same layout; see assembly/README.md):
 *
 *   0          REGION_BASE                                           MEMORY_PAGES * 64 KiB
 *   | AS static |STATUS|INPUT (batch bytes + pad)|LINES|LIT_LEN|LIT_PROBE|LIT_BYTES|NODE_NEED|
 *   |  data     |      |LIT_MASKS|NODE_MASKS|SYSLOG_RECS|ACCESS_RECS|PF_HASH|
 *
 *   STATUS       u32[4]: [0] consumed bytes of the last scanLines
 *   INPUT        the batch, MAX_INPUT bytes + INPUT_PAD (SIMD loads may read past the end)
 *   LINES        u32[2] per line: start, end (byte offsets into INPUT; end excludes \r\n / \n)
 *   LIT_LEN      u32 per literal: byte length (1..MAX_LITERAL_LEN)
 *   LIT_PROBE    u32 per literal: two byte positions to pre-test, a | b << 16 (a, b < length)
 *   LIT_BYTES    MAX_LITERAL_LEN bytes per literal slot (literal i at LIT_BYTES + i*MAX_LITERAL_LEN)
 *   NODE_NEED    u32[LIT_WORDS_MAX] per node: bitmask of the literals the node requires
 *   LIT_MASKS    u32[litWords] per line: bit k set = literal k occurs in the line
 *   NODE_MASKS   u32[nodeWords] per line: bit n set = every literal of node n occurs
 *   SYSLOG_RECS  u32[SYSLOG_REC_WORDS] per line (kind, then start/end pairs)
 *   ACCESS_RECS  u32[ACCESS_REC_WORDS] per line (kind, then start/end pairs)
 *   PF_HASH      u16[PF_HASH_SIZE] chain heads, u16[MAX_LITERALS] chain links, u32[MAX_NODES]
 *                word range of each node's needs (internal, written by prefilterLoad)
 */

// Bump on any change below that a reader of the memory would notice.
export const ABI_VERSION: u32 = 3;

export const PAGE_SIZE: u32 = 65536;
/** Everything below is AssemblyScript's static data (the module checks it fits). */
export const REGION_BASE: u32 = 65536;
/** Field value of an absent span (both start and end). */
export const NONE: u32 = 0xffffffff;

export const STATUS_OFFSET: u32 = REGION_BASE;
export const STATUS_BYTES: u32 = 64;
export const STATUS_CONSUMED: u32 = 0;

export const MAX_INPUT: u32 = 4194304;
export const INPUT_PAD: u32 = 256;
export const INPUT_OFFSET: u32 = STATUS_OFFSET + STATUS_BYTES;

export const MAX_LINES: u32 = 65536;
export const LINE_REC_WORDS: u32 = 2;
export const LINES_OFFSET: u32 = INPUT_OFFSET + MAX_INPUT + INPUT_PAD;

export const MAX_LITERALS: u32 = 256;
export const MAX_LITERAL_LEN: u32 = 64;
export const LIT_WORDS_MAX: u32 = 8;
export const MAX_NODES: u32 = 256;
export const NODE_WORDS_MAX: u32 = 8;
export const LIT_LEN_OFFSET: u32 = LINES_OFFSET + MAX_LINES * LINE_REC_WORDS * 4;
export const LIT_PROBE_OFFSET: u32 = LIT_LEN_OFFSET + MAX_LITERALS * 4;
export const LIT_BYTES_OFFSET: u32 = LIT_PROBE_OFFSET + MAX_LITERALS * 4;
export const NODE_NEED_OFFSET: u32 = LIT_BYTES_OFFSET + MAX_LITERALS * MAX_LITERAL_LEN;
export const LIT_MASKS_OFFSET: u32 = NODE_NEED_OFFSET + MAX_NODES * LIT_WORDS_MAX * 4;
export const NODE_MASKS_OFFSET: u32 = LIT_MASKS_OFFSET + MAX_LINES * LIT_WORDS_MAX * 4;

// Syslog record: u32 kind, then (start, end) per field; kind 0 = not recognised (all NONE).
export const SYSLOG_NONE: u32 = 0;
export const SYSLOG_3164: u32 = 1;
export const SYSLOG_3164_ISO: u32 = 2;
export const SYSLOG_5424: u32 = 3;
export const SL_KIND: u32 = 0;
export const SL_PRI: u32 = 1;
export const SL_TIMESTAMP: u32 = 3;
export const SL_HOST: u32 = 5;
export const SL_PROGRAM: u32 = 7;
export const SL_PID: u32 = 9;
export const SL_MSGID: u32 = 11;
export const SL_SD: u32 = 13;
export const SL_MESSAGE: u32 = 15;
export const SYSLOG_REC_WORDS: u32 = 17;
export const SYSLOG_RECS_OFFSET: u32 = NODE_MASKS_OFFSET + MAX_LINES * NODE_WORDS_MAX * 4;

// Access log record: u32 kind, then (start, end) per field; kind 0 = not recognised.
export const ACCESS_NONE: u32 = 0;
export const ACCESS_COMMON: u32 = 1;
export const ACCESS_COMBINED: u32 = 2;
export const AL_KIND: u32 = 0;
export const AL_CLIENT: u32 = 1;
export const AL_IDENT: u32 = 3;
export const AL_USER: u32 = 5;
export const AL_TIME: u32 = 7;
export const AL_REQUEST: u32 = 9;
export const AL_VERB: u32 = 11;
export const AL_PATH: u32 = 13;
export const AL_PROTO: u32 = 15;
export const AL_STATUS: u32 = 17;
export const AL_BYTES: u32 = 19;
export const AL_REFERER: u32 = 21;
export const AL_AGENT: u32 = 23;
export const ACCESS_REC_WORDS: u32 = 25;
export const ACCESS_RECS_OFFSET: u32 = SYSLOG_RECS_OFFSET + MAX_LINES * SYSLOG_REC_WORDS * 4;

// Prefilter's own hash of 4-byte literal prefixes (written by prefilterLoad; not an input).
export const PF_HASH_BITS: u32 = 12;
export const PF_HASH_SIZE: u32 = 4096; // 1 << PF_HASH_BITS
export const PF_HASH_OFFSET: u32 = ACCESS_RECS_OFFSET + MAX_LINES * ACCESS_REC_WORDS * 4;
export const PF_HASH_BYTES: u32 = PF_HASH_SIZE * 2 + MAX_LITERALS * 2 + MAX_NODES * 4;
/** At least this many literals of 4+ bytes: hash path instead of one SIMD sweep per literal. */
export const PF_HASH_MIN_LITERALS: u32 = 8;

export const MEMORY_END: u32 = PF_HASH_OFFSET + PF_HASH_BYTES;
export const MEMORY_PAGES: u32 = (MEMORY_END + PAGE_SIZE - 1) / PAGE_SIZE;

// prefilterLoad results.
export const PF_OK: u32 = 0;
export const PF_TOO_MANY_LITERALS: u32 = 1;
export const PF_TOO_MANY_NODES: u32 = 2;
export const PF_BAD_LITERAL_LENGTH: u32 = 3;
export const PF_BAD_PROBE: u32 = 4;

// ---- IP set (assembly/ipset.ts) --------------------------------------------------------
// Used through its own instance (its memory grows past IPSET_HEAP_OFFSET as prefixes are
// added, which would detach a scanner's views), so its regions start after the scanner's
// pages and cost nothing in a scanner instance. Addresses are 128-bit, IPv4 mapped into
// ::ffff:0:0/96; an address or prefix is 4 u32 words, most significant first.
export const IPSET_BASE: u32 = MEMORY_PAGES * PAGE_SIZE;
/** u32[4]: the address or prefix argument of ipsetInsert / Remove / Get / Covering / Inside. */
export const IPSET_ARG_OFFSET: u32 = IPSET_BASE;
/** u32[4]: [0] text bytes consumed by the last ipsetLookupText. */
export const IPSET_STATUS_OFFSET: u32 = IPSET_ARG_OFFSET + 16;
export const IPSET_STATUS_CONSUMED: u32 = 0;
/** Internal: the 8 groups of an IPv6 text being parsed, then the walk stack (u32 per level). */
export const IPSET_SCRATCH_OFFSET: u32 = IPSET_STATUS_OFFSET + 16;
export const IPSET_STACK_OFFSET: u32 = IPSET_SCRATCH_OFFSET + 32;
export const IPSET_STACK_BYTES: u32 = 1024;
/** Internal: v128 per length 0..128, its first `length` bits set (in the word layout of an address). */
export const IPSET_MASKS_OFFSET: u32 = IPSET_STACK_OFFSET + IPSET_STACK_BYTES;
/** Internal: u8 per byte value, its hex digit value or 0xff (no branch per digit when parsing). */
export const IPSET_HEX_OFFSET: u32 = IPSET_MASKS_OFFSET + 129 * 16;
/** At most this many addresses per ipsetLookup / ipsetLookupText and values per result page. */
export const IPSET_MAX_BATCH: u32 = 4096;
/** u32[4] per address of a numeric batch (ipsetLookupText writes its parsed addresses here too). */
export const IPSET_ADDRS_OFFSET: u32 = IPSET_HEX_OFFSET + 256;
/** u32 per address (lookups) or per value (ipsetCovering, ipsetInside). */
export const IPSET_RESULTS_OFFSET: u32 = IPSET_ADDRS_OFFSET + IPSET_MAX_BATCH * 16;
/** Internal: u32 per address, the IPv6 addresses of a batch waiting for their walks. */
export const IPSET_QUEUE_OFFSET: u32 = IPSET_RESULTS_OFFSET + IPSET_MAX_BATCH * 4;
/** Text batch: addresses separated by \n, at most IPSET_MAX_TEXT bytes. */
export const IPSET_MAX_TEXT: u32 = 262144;
export const IPSET_TEXT_OFFSET: u32 = IPSET_QUEUE_OFFSET + IPSET_MAX_BATCH * 4;
/** Direct tables, one per family: u32 [first node, best value] per value of the first 16 bits. */
export const IPSET_SLOT_BITS: u32 = 16;
export const IPSET_SLOTS: u32 = 65536; // 1 << IPSET_SLOT_BITS
export const IPSET_DT4_OFFSET: u32 = IPSET_TEXT_OFFSET + IPSET_MAX_TEXT;
export const IPSET_DT6_OFFSET: u32 = IPSET_DT4_OFFSET + IPSET_SLOTS * 8;
/** Tree nodes from here on (cache-line aligned), IPSET_NODE_BYTES each (node 0 = none, 1 = IPv4 root, 2 = IPv6 root). */
export const IPSET_HEAP_OFFSET: u32 = (IPSET_DT6_OFFSET + IPSET_SLOTS * 8 + 63) / 64 * 64;
export const IPSET_NODE_BYTES: u32 = 32;
export const IPSET_MEMORY_PAGES: u32 = (IPSET_HEAP_OFFSET + 3 * IPSET_NODE_BYTES + PAGE_SIZE - 1) / PAGE_SIZE;
/** Lookup result of a text that is not an address (a miss is 0). */
export const IPSET_INVALID: u32 = 0xffffffff;
// ipsetInsert results.
export const IPSET_OK: u32 = 0;
export const IPSET_BAD_LENGTH: u32 = 1;
export const IPSET_BAD_VALUE: u32 = 2;
export const IPSET_NO_MEMORY: u32 = 3;

// ---- Bucket table (assembly/buckets.ts) ------------------------------------------------
// Used through its own instance, like the IP set (its memory grows as distinct values are
// recorded), so its regions may start where the IP set's do: the two never share one.
// Times are a pair (f64 whole seconds since the Unix epoch, u32 nanoseconds 0..999999999),
// the GoTime of src/core/gotime.ts; durations are f64 nanoseconds.
export const BK_BASE: u32 = MEMORY_PAGES * PAGE_SIZE;
/** f64 seconds at +0, u32 nanoseconds at +8: the clock of bucketsSweep; scenario + key of bucketsFind at +12, +16. */
export const BK_ARG_OFFSET: u32 = BK_BASE;
export const BK_ARG_BYTES: u32 = 32;
/** u32[4]: [0] error code of the last call (BK_OK when it succeeded). */
export const BK_STATUS_OFFSET: u32 = BK_ARG_OFFSET + BK_ARG_BYTES;
export const BK_STATUS_ERROR: u32 = 0;
export const BK_STATUS_BYTES: u32 = 16;
/** Scenario record (written before bucketsInit): u32 kind, u32 flags, f64 capacity, leakspeed ns, idle ns, duration ns. */
export const BK_MAX_SCENARIOS: u32 = 4096;
export const BK_SCEN_BYTES: u32 = 40;
export const BK_SCEN_OFFSET: u32 = BK_STATUS_OFFSET + BK_STATUS_BYTES;
/** Pour record: f64 seconds, u32 nanoseconds, u16 scenario, u16 flags, u32[4] key hash, u32[2] distinct hash. */
export const BK_MAX_BATCH: u32 = 8192;
export const BK_IN_BYTES: u32 = 40;
export const BK_IN_OFFSET: u32 = BK_SCEN_OFFSET + BK_MAX_SCENARIOS * BK_SCEN_BYTES;
/** Outcome record: u32 outcome flags, row, previous row of the key, evicted row. */
export const BK_OUT_BYTES: u32 = 16;
export const BK_OUT_OFFSET: u32 = BK_IN_OFFSET + BK_MAX_BATCH * BK_IN_BYTES;
/** Sweep record: u32 row, u32 outcome (BK_OUT_EXPIRED or BK_OUT_TIMED). */
export const BK_SWEEP_BYTES: u32 = 8;
export const BK_SWEEP_OFFSET: u32 = BK_OUT_OFFSET + BK_MAX_BATCH * BK_OUT_BYTES;
/** Internal: per scenario u32 head, tail, size, kind | flags << 8, then f64 burst, rate, idle ns, duration ns. */
export const BK_PART_BYTES: u32 = 48;
export const BK_PARTS_OFFSET: u32 = BK_SWEEP_OFFSET + BK_MAX_BATCH * BK_SWEEP_BYTES;
/** Rows (ids from 1; row id r at BK_ROWS_OFFSET + r * BK_ROW_BYTES), then the hash table, then distinct values. */
export const BK_ROWS_OFFSET: u32 = (BK_PARTS_OFFSET + BK_MAX_SCENARIOS * BK_PART_BYTES + 63) / 64 * 64;
export const BK_ROW_BYTES: u32 = 72;
export const BK_ROW_TOKENS: u32 = 0; // f64
export const BK_ROW_FIRST_SEC: u32 = 8; // f64
export const BK_ROW_LAST_SEC: u32 = 16; // f64
export const BK_ROW_FIRST_NSEC: u32 = 24;
export const BK_ROW_LAST_NSEC: u32 = 28;
export const BK_ROW_COUNT: u32 = 32;
export const BK_ROW_SCENARIO: u32 = 36;
export const BK_ROW_KEY: u32 = 40; // u32[4]
export const BK_ROW_PREV: u32 = 56;
export const BK_ROW_NEXT: u32 = 60;
export const BK_ROW_DISTINCT: u32 = 64;
export const BK_ROW_STATE: u32 = 68;
/** Row states: free, in the table, removed during the last call (contents kept until the next call). */
export const BK_STATE_FREE: u32 = 0;
export const BK_STATE_LIVE: u32 = 1;
export const BK_STATE_REMOVED: u32 = 2;
/** Largest maxRows of bucketsInit. Rows removed in one call stay readable: up to 3 per pour record. */
export const BK_MAX_ROWS: u32 = 16777216;
export const BK_SPARE_ROWS: u32 = 3 * BK_MAX_BATCH;
export const BK_MEMORY_PAGES: u32 = (BK_ROWS_OFFSET + PAGE_SIZE - 1) / PAGE_SIZE;
// Scenario kinds and flags.
export const BK_KIND_LEAKY: u32 = 0;
export const BK_KIND_TRIGGER: u32 = 1;
export const BK_KIND_COUNTER: u32 = 2;
export const BK_FLAG_TIMED: u32 = 1;
// Pour record flags.
export const BK_REC_DISTINCT: u32 = 1;
export const BK_REC_CANCEL: u32 = 2;
// Outcome flags (one word per pour record; sweep records carry EXPIRED or TIMED).
export const BK_OUT_NEW: u32 = 1;
export const BK_OUT_EXPIRED: u32 = 2;
export const BK_OUT_TIMED: u32 = 4;
export const BK_OUT_EVICTED: u32 = 8;
export const BK_OUT_POURED: u32 = 16;
export const BK_OUT_OVERFLOW: u32 = 32;
export const BK_OUT_DISTINCT: u32 = 64;
export const BK_OUT_CANCELLED: u32 = 128;
export const BK_OUT_INVALID: u32 = 256;
// Error codes (bucketsInit result, BK_STATUS_ERROR).
export const BK_OK: u32 = 0;
export const BK_BAD_ARGS: u32 = 1;
export const BK_BAD_SCENARIO: u32 = 2;
export const BK_NO_MEMORY: u32 = 3;
export const BK_NOT_READY: u32 = 4;
