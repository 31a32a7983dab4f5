// Text output of the CLI: tables and byte sizes. Pure functions over public result types.
import type { ClusterHealth } from '../index.js';

/** `1536` → `1.5 KiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Left-aligned columns separated by two spaces. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** The health table: endpoint, healthy, leader, version, db size, took. */
export function formatHealth(health: ClusterHealth): string {
  const leaderId = health.leader?.id;
  const rows = health.endpoints.map((e) => [
    e.endpoint,
    e.memberName ?? '',
    e.healthy ? 'true' : `false${e.error ? ` (${e.error.code})` : ''}`,
    e.status ? (e.status.memberId === leaderId ? 'yes' : 'no') : '?',
    e.status?.version ?? '',
    e.status ? formatBytes(e.status.dbSizeBytes) : '',
    `${e.tookMs.toFixed(1)} ms`,
  ]);
  const summary = health.healthy
    ? `cluster is healthy: ${health.quorum.healthyVoters}/${health.quorum.votingMembers} voting members answered, leader ${health.leader?.name ?? '?'}`
    : `cluster is NOT healthy: ${health.error?.code ?? 'no quorum'}${health.error ? ` (${health.error.message})` : ''}`;
  const alarms = health.alarms.map((a) => `alarm ${a.alarm} on ${a.memberName ?? a.memberId}`);
  return [table(['ENDPOINT', 'MEMBER', 'HEALTHY', 'LEADER', 'VERSION', 'DB SIZE', 'TOOK'], rows), '', summary, ...alarms].join('\n');
}
