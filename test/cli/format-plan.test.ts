// How the CLI shows a plan (etcd-kit plan, deploy --dry-run): the operations first, numbered, then the details.
import { describe, expect, it } from 'vitest';
import { formatOperation, formatPlan, formatVersionChange } from '../../src/cli/format-plan.js';
import { planOperations } from '../../src/deploy/operations.js';
import type { ClusterPlan, MemberPlan } from '../../src/deploy/types.js';

describe('formatPlan / formatVersionChange', () => {
  const member = (name: string, version: MemberPlan['version'], service: MemberPlan['service'] = 'restart'): MemberPlan => ({
    name,
    host: `${name}.example`,
    files: [{ path: '/opt/etcd/bin/etcd', action: 'update' }],
    service,
    hostChanges: [],
    firewallOpens: [],
    running: true,
    mainPid: 1,
    version,
  });
  const base: Omit<ClusterPlan, 'members' | 'mode' | 'etcdVersion' | 'operations'> = {
    pki: { createCa: false, issueMembers: [], issueClients: [] },
    noChanges: false,
    warnings: [],
  };
  const withOps = (p: Omit<ClusterPlan, 'operations'>, leader?: string): ClusterPlan => ({ ...p, operations: planOperations({ plan: p, leader }) });

  it('shows every member’s change, `etcd01: 3.4.23 → 3.5.30 (upgrade)`', () => {
    const text = formatPlan(
      withOps({
        ...base,
        mode: 'update',
        etcdVersion: '3.5.30',
        members: [
          { ...member('etcd01', { running: '3.4.23', target: '3.5.30', change: 'upgrade' }), reason: 'etcd binary changed' },
          member('etcd02', { running: '3.5.30', target: '3.5.30', change: 'none' }, 'none'),
          member('etcd04', { target: '3.5.30', change: 'install' }, 'join'),
        ],
      }),
    );
    expect(text).toContain('  etcd 3.5.30:\n    etcd01: 3.4.23 → 3.5.30 (upgrade)\n    etcd02: 3.5.30 (no change)\n    etcd04: 3.5.30 (install)\n');
    expect(text).toContain('  etcd01 (etcd01.example):\n    ~ /opt/etcd/bin/etcd');
    // The operations first, numbered, in the order the deploy does them: the join before the roll.
    const ops = text.split('\n').filter((l) => /^ {2}\d+\. /.test(l));
    expect(ops[0]).toMatch(/^ {2}1\. update-files etcd02: 1 file /);
    expect(ops[1]).toMatch(/^ {2}2\. join etcd04: /);
    expect(ops[2]).toBe('  3. upgrade etcd01: 3.4.23 → 3.5.30, placing 1 file first — etcd binary changed; a follower; healthy and caught up before the next');
    expect(text.indexOf('Details:')).toBeGreaterThan(text.indexOf(ops[2]!));
  });

  it('a bootstrap names the release once', () => {
    const text = formatPlan(withOps({ ...base, mode: 'bootstrap', etcdVersion: '3.6.14', members: [member('etcd01', { target: '3.6.14', change: 'install' }, 'start')] }));
    expect(text.split('\n')[0]).toBe('Bootstrap a new cluster on etcd 3.6.14:');
  });

  it('formatVersionChange covers every shape', () => {
    expect(formatVersionChange({ running: '3.6.14', target: '3.5.33', change: 'downgrade' })).toBe('3.6.14 → 3.5.33 (downgrade)');
    expect(formatVersionChange({ running: '3.5.33', target: '3.5.30', change: 'patch-down' })).toBe('3.5.33 → 3.5.30 (patch-down)');
    expect(formatVersionChange({ onDisk: '3.5.30', target: '3.5.30', change: 'none' })).toBe('3.5.30 (on disk) (no change)');
    expect(formatVersionChange({ target: '3.7.1', change: 'install' })).toBe('3.7.1 (install)');
  });
});

describe('formatOperation', () => {
  it('kind, member, summary, reason', () => {
    expect(formatOperation({ kind: 'start', member: 'etcd02', summary: '', reason: 'down' })).toBe('start etcd02 — down');
    expect(formatOperation({ kind: 'snapshot', summary: 'checked snapshot into /b', reason: 'versions change' })).toBe('snapshot: checked snapshot into /b — versions change');
  });
});
