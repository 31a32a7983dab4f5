import { describe, expect, it } from 'vitest';
import { planOperations, restartReason } from '../../src/deploy/operations.js';
import type { ClusterPlan, MemberPlan } from '../../src/deploy/types.js';

type PlanBase = Omit<ClusterPlan, 'operations'>;

const member = (name: string, over: Partial<MemberPlan> = {}): MemberPlan => ({
  name,
  host: `10.0.0.${name.slice(-1)}`,
  files: [],
  service: 'none',
  hostChanges: [],
  firewallOpens: [],
  running: true,
  mainPid: 1,
  version: { running: '3.5.30', target: '3.5.30', change: 'none' },
  state: 'up',
  ...over,
});

const plan = (members: MemberPlan[], over: Partial<PlanBase> = {}): PlanBase => ({
  mode: 'update',
  members,
  pki: { createCa: false, issueMembers: [], issueClients: [] },
  etcdVersion: '3.5.30',
  noChanges: false,
  warnings: [],
  ...over,
});

const upgrade = { running: '3.4.23', target: '3.5.30', change: 'upgrade' as const };
const binary = [{ path: '/opt/etcd/bin/etcd', action: 'update' as const }];
const kinds = (p: PlanBase, leader?: string) => planOperations({ plan: p, leader }).map((o) => `${o.kind}${o.member ? ` ${o.member}` : ''}`);

describe('planOperations', () => {
  it('nothing to do: no operations', () => {
    expect(planOperations({ plan: plan([member('etcd01')], { noChanges: true }), leader: 'etcd01' })).toEqual([]);
  });

  it('a bootstrap: PKI, each host installed, all started at once, then state=existing', () => {
    const fresh = (n: string) => member(n, { files: binary, service: 'start', running: false, version: { target: '3.6.14', change: 'install' } });
    const p = plan([fresh('etcd01'), fresh('etcd02'), fresh('etcd03')], { mode: 'bootstrap', pki: { createCa: true, issueMembers: [], issueClients: [] } });
    expect(kinds(p)).toEqual(['create-pki', 'install etcd01', 'install etcd02', 'install etcd03', 'start', 'finalize']);
  });

  it('an upgrade: snapshot, followers in spec order, leadership handed to the first upgraded one, the leader last', () => {
    const up = (n: string) => member(n, { files: binary, service: 'restart', reason: 'etcd binary changed', version: upgrade });
    const p = plan([up('etcd01'), up('etcd02'), up('etcd03')], { snapshotBeforeChange: { dir: '/backups' } });
    expect(kinds(p, 'etcd01')).toEqual(['snapshot', 'upgrade etcd02', 'upgrade etcd03', 'move-leader etcd01', 'upgrade etcd01']);
    const ops = planOperations({ plan: p, leader: 'etcd01' });
    expect(ops[3]).toMatchObject({ summary: 'hand leadership from etcd01 to etcd02' });
    expect(ops[4]).toMatchObject({ summary: '3.4.23 → 3.5.30, placing 1 file first', reason: expect.stringMatching(/^etcd binary changed; the leader, last; /) });
    expect(ops[1]!.reason).toMatch(/; a follower; /);
    // No leader known (or a leader that does not restart): spec order, no hand-over.
    expect(kinds(p)).toEqual(['snapshot', 'upgrade etcd01', 'upgrade etcd02', 'upgrade etcd03']);
    expect(kinds(plan([up('etcd01'), member('etcd02')]), 'etcd02')).toEqual(['upgrade etcd01']);
  });

  it('a one-member roll of the leader hands nothing over', () => {
    const p = plan([member('etcd01', { service: 'restart', reason: 'settings changed: ETCD_SNAPSHOT_COUNT' })]);
    expect(kinds(p, 'etcd01')).toEqual(['restart etcd01']);
  });

  it('fixes come before the roll: files without restart, replacement, start, a hung member restarted, join', () => {
    const p = plan([
      member('etcd01', { service: 'restart', reason: 'certificates renewed' }),
      member('etcd02', { service: 'replace', reason: 'data dir empty', state: 'replace' }),
      member('etcd03', { service: 'start', reason: 'down (etcd inactive/dead, data intact)', state: 'down', running: false }),
      member('etcd04', { service: 'restart', reason: 'not answering (etcd active/running, data intact)', state: 'down' }),
      member('etcd05', { service: 'join', files: binary, state: 'new', running: false }),
      member('etcd06', { files: [{ path: '/opt/etcd/cfg/etcdctl.env', action: 'update' }] }),
    ]);
    expect(kinds(p, 'etcd01')).toEqual(['update-files etcd06', 'replace etcd02', 'start etcd03', 'restart etcd04', 'join etcd05', 'restart etcd01']);
    const ops = planOperations({ plan: p, leader: 'etcd01' });
    expect(ops.find((o) => o.member === 'etcd04')!.reason).toBe('not answering (etcd active/running, data intact)');
    expect(ops.find((o) => o.member === 'etcd06')!.reason).toMatch(/^no restart needed/);
  });

  it('PKI work is listed first, members and clients apart', () => {
    const p = plan([member('etcd01', { service: 'restart', reason: 'certificates renewed' })], { pki: { createCa: false, issueMembers: ['etcd01'], issueClients: ['admin'] } });
    expect(kinds(p)).toEqual(['issue-certificates', 'issue-certificates', 'restart etcd01']);
  });
});

describe('restartReason', () => {
  it('names changed settings, renewed certificates and other files', () => {
    expect(restartReason([{ role: 'env', path: '/e', settings: ['ETCD_SNAPSHOT_COUNT'] }], undefined)).toBe('settings changed: ETCD_SNAPSHOT_COUNT');
    expect(restartReason([{ role: 'env', path: '/e' }], undefined)).toBe('env file changed');
    expect(restartReason([{ role: 'serverCert', path: '/s' }, { role: 'peerKey', path: '/p' }], undefined)).toBe('certificates renewed');
    expect(restartReason([{ role: 'etcd', path: '/b' }, { role: 'unit', path: '/u' }], undefined)).toBe('etcd binary changed; systemd unit changed');
    expect(restartReason([{ role: 'caCert', path: '/c' }], undefined)).toBe('CA certificate changed');
  });

  it('a process still running another release than the binary in place', () => {
    expect(restartReason([], { running: '3.5.30', target: '3.5.33' })).toBe('still runs 3.5.30 while 3.5.33 is in place');
    // the binary itself changes: that says it already
    expect(restartReason([{ role: 'etcd', path: '/b' }], { running: '3.5.30', target: '3.5.33' })).toBe('etcd binary changed');
  });
});
