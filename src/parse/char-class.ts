/**
 * Character tests shared by the hand-written line readers (syslog-fast.ts, access-fast.ts),
 * on UTF-16 code units from charCodeAt (NaN past the end of the string fails every test).
 */

export const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** The month names as c0 << 16 | c1 << 8 | c2. */
const MONTHS = Int32Array.from(['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'],
  (m) => (m.charCodeAt(0) << 16) | (m.charCodeAt(1) << 8) | m.charCodeAt(2));

/** Whether the three characters at `p` are an English month abbreviation (grok's MONTH, case as written). */
export function isMonth(s: string, p: number): boolean {
  const c0 = s.charCodeAt(p);
  const c1 = s.charCodeAt(p + 1);
  const c2 = s.charCodeAt(p + 2);
  if (c0 > 127 || c1 > 127 || c2 > 127) return false; // also NaN past the end
  const v = (c0 << 16) | (c1 << 8) | c2;
  for (let i = 0; i < 12; i++) if (MONTHS[i] === v) return true;
  return false;
}
