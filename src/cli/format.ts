/**
 * Text output of the CLI: tables, byte sizes, health and restore summaries. Pure functions over public result types.
 *
 * @module
 */
import type { ClusterHealth, RestoreResult } from '../index.js';

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

/** The health table (endpoint, member, healthy, leader, version, db size, took), then the verdict line and alarms. */
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
  const answered = `${health.quorum.healthyVoters}/${health.quorum.votingMembers} voting members answered, leader ${health.leader?.name ?? '?'}`;
  const down = health.endpoints.filter((e) => !e.healthy).map((e) => `${e.memberName ?? e.endpoint}${e.error ? ` (${e.error.code})` : ''}`);
  const summary =
    health.verdict === 'healthy'
      ? `cluster is healthy: ${answered}`
      : health.verdict === 'degraded'
        ? `cluster is DEGRADED (quorum, but not every member answers): ${answered}${down.length > 0 ? `; not answering: ${down.join(', ')}` : ''}`
        : `cluster is UNAVAILABLE (no quorum): ${health.error?.code ?? 'ETCD_NO_QUORUM'}${health.error ? ` (${health.error.message})` : ''}`;
  const alarms = health.alarms.map((a) => `alarm ${a.alarm} on ${a.memberName ?? a.memberId}`);
  return [table(['ENDPOINT', 'MEMBER', 'HEALTHY', 'LEADER', 'VERSION', 'DB SIZE', 'TOOK'], rows), '', summary, ...alarms].join('\n');
}

/** What `snapshot restore` and `recover` print: the summary line (`verb` first), the members' table, then the health table. */
export function formatRestore(verb: string, result: RestoreResult): string {
  const summary = `${verb} in ${(result.durationMs / 1000).toFixed(1)} s: cluster ${result.clusterId}, revision ${result.revision}, from ${result.snapshot.path} (sha256 ${result.snapshot.sha256})`;
  const rows = result.members.map((m) => [m.name, m.host, m.memberId, m.movedAside ?? '-']);
  return `${summary}\n${table(['MEMBER', 'HOST', 'NEW MEMBER ID', 'OLD DATA DIR KEPT AS'], rows)}\n\n${formatHealth(result.health)}\n`;
}
