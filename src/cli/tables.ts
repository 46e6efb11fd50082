/** Plain-text tables for the operator verbs (same layout for the local store and a remote API). */

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}

export interface AlertRow {
  id: number;
  scope: string;
  value: string;
  scenario: string;
  decisionTypes: readonly string[];
  createdAt: string;
}

/** `alerts list` as cscli shows it: one line per alert, decisions counted by type. */
export function alertsTable(alerts: readonly AlertRow[]): string {
  const rows = [['ID', 'Value', 'Reason', 'Decisions', 'Created at']];
  for (const a of alerts) {
    const counts = new Map<string, number>();
    for (const t of a.decisionTypes) counts.set(t, (counts.get(t) ?? 0) + 1);
    rows.push([String(a.id), `${a.scope}:${a.value}`, a.scenario, [...counts].map(([t, n]) => `${t}:${n}`).join(' '), a.createdAt]);
  }
  return table(rows);
}
