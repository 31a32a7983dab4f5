// A member that moved to another host, on real hosts: the spec puts etcd03 on a new host while the cluster
// lists it on its old one. deployEtcdCluster alone moves it (old host cleaned when reachable, member remove,
// the new host joins as a learner and is promoted), whether the old host is powered off (a warning, no
// failure) or up (cleaned: etcd stopped and disabled, files gone, data dir moved aside); a move while
// another member is down is refused before any host changes.
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeployProgressEvent, type DeployResult, deployEtcdCluster, planEtcdCluster } from '../../src/index.js';
import { verifyCertificate } from '../../src/pki-entry.js';
import { formatPlan } from '../../src/cli/format-plan.js';
import type { EtcdRelease } from '../helpers/etcd-releases.js';
import { rejection } from '../helpers/rejection.js';
import { startTestbed, type Testbed } from '../testbed/index.js';
import { e2eRelease, etcdctl, localGet, testbedSpec } from './deploy-helpers.js';


let tb: Testbed;
let release: EtcdRelease;
let spec: ReturnType<typeof testbedSpec>;
let first: DeployResult;

/** The spec with member `name` on testbed host `host` (the others as they are). */
function withMember(base: ReturnType<typeof testbedSpec>, name: string, host: number): ReturnType<typeof testbedSpec> {
  return { ...base, members: base.members.map((m) => (m.name === name ? { ...m, host: tb.hosts[host]!.ip } : m)) };
}

beforeAll(async () => {
  release = e2eRelease();
  tb = await startTestbed({ hosts: 4 });
  spec = testbedSpec(tb, release.tarball, 3);
  first = await deployEtcdCluster(spec);
  expect(first.health?.quorum).toMatchObject({ votingMembers: 3, healthyVoters: 3 });
  for (let i = 0; i < 20; i++) await etcdctl(first, 'put', `/move/k${i}`, `v${i}`);
});
afterAll(async () => {
  await tb?.destroy();
});


interface Listed {
  id: string;
  peerUrls: string;
  clientUrls: string;
  learner: string;
}

/** The member list by name (`id, started, name, peer URLs, client URLs, learner`). */
async function members(result: DeployResult): Promise<Record<string, Listed>> {
  const lines = (await etcdctl(result, 'member', 'list')).trim().split('\n');
  return Object.fromEntries(
    lines.map((l) => l.split(', ')).map(([id, , name, peerUrls, clientUrls, learner]) => [name ?? '', { id: id ?? '', peerUrls: peerUrls ?? '', clientUrls: clientUrls ?? '', learner: learner ?? '' }]),
  );
}

/** Everything a deploy could change on a running host: files (mode, size, mtime), unit, data dir, firewall rules. */
async function hostState(host: number): Promise<string> {
  const r = await tb.exec(
    host,
    'find /opt/etcd /etc/systemd/system/etcd.service /var/lib -maxdepth 3 \\( -path "/var/lib/etcd*" -o -path "/opt/etcd*" -o -name etcd.service \\) -printf "%p %m %s %T@\\n" 2>/dev/null | sort; ' +
      'systemctl show etcd -p ActiveState -p MainPID -p UnitFileState; nft list ruleset 2>/dev/null | grep -c etcd-kit || true',
    { allowFailure: true },
  );
  return r.stdout;
}

/** The PKI dir's files and contents, as one digest. */
async function pkiState(dir: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (d: string): Promise<void> => {
    for (const e of (await readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else hash.update(p).update(await readFile(p));
    }
  };
  await walk(dir);
  return hash.digest('hex');
}

describe('a member moved to another host', () => {
  it('old host powered off: planned as a move, moved with a warning naming that host; a re-run changes nothing', async () => {
    const before = await members(first);
    const [old, fresh] = [tb.hosts[2]!.ip, tb.hosts[3]!.ip];
    expect(before['etcd03']?.peerUrls).toBe(`https://${old}:2380`);
    await tb.stopHost(2);
    const moved = withMember(spec, 'etcd03', 3);

    const plan = await planEtcdCluster(moved);
    expect(plan.members.map((m) => [m.service, m.reason])).toEqual([
      ['none', undefined],
      ['none', undefined],
      ['move', `${old} → ${fresh}`],
    ]);
    expect(plan.pki.issueMembers).toEqual(['etcd03']);
    const text = formatPlan(plan);
    expect(text).toContain(`\n  1. issue-certificates: issue server/peer certificates for etcd03`);
    expect(text).toContain(`. move etcd03: ${old} → ${fresh}: the old host cleaned when reachable`);
    // the others get their new initial-cluster files without a restart, then the move
    expect(plan.operations.map((o) => `${o.kind}${o.member ? ` ${o.member}` : ''}`)).toEqual(['issue-certificates', 'update-files etcd01', 'update-files etcd02', 'move etcd03']);
    // the old member is the one moving, not a member "left alone"; the plan tried the old host (read-only)
    expect(plan.warnings.filter((w) => w.includes('left alone'))).toEqual([]);
    expect(plan.warnings).toEqual([expect.stringMatching(new RegExp(`^etcd03: its old host ${old.replace(/\./g, '\\.')} cannot be reached over SSH \\(SSH_(TIMEOUT|UNREACHABLE): .*the move goes on without cleaning that host`))]);
    // the plan is read-only: the new host got nothing
    expect((await tb.exec(3, 'ls /opt/etcd /etc/systemd/system/etcd.service 2>&1 || true')).stdout).toMatch(/No such file/);

    const events: DeployProgressEvent[] = [];
    const t0 = performance.now();
    const result = await deployEtcdCluster(moved, { onProgress: (e) => events.push(e) });
    console.log(`move etcd03 (old host off): deploy took ${Math.round(performance.now() - t0)} ms`);
    expect(result.changed).toBe(true);
    expect(result.health?.quorum).toMatchObject({ votingMembers: 3, healthyVoters: 3 });
    expect(result.health?.endpoints.every((e) => e.healthy)).toBe(true);
    expect(result.health?.members.filter((m) => m.isLearner)).toEqual([]);
    expect(result.members[2]).toMatchObject({ name: 'etcd03', host: fresh, started: true, moved: { from: old, oldMemberId: expect.any(String), oldHost: 'unreachable' } });
    expect(result.members[2]?.moved?.dataMovedAside).toBeUndefined();
    const warning = result.plan.warnings.find((w) => w.startsWith(`etcd03: moved from ${old} without cleaning that host`));
    expect(warning).toMatch(/SSH_(TIMEOUT|UNREACHABLE)/);
    expect(events.some((e) => e.step === 'move' && e.member === 'etcd03' && e.message?.includes(`moved from ${old} without cleaning`))).toBe(true);
    // the order: old member removed before the new one is added
    const messages = events.filter((e) => e.member === 'etcd03').map((e) => e.message ?? '');
    const [removed, added] = [messages.findIndex((m) => m.startsWith('member remove')), messages.indexOf('adding as a learner')];
    expect(removed).toBeGreaterThanOrEqual(0);
    expect(removed).toBeLessThan(added);
    expect(messages[removed]).toBe(`member remove ${result.members[2]?.moved?.oldMemberId}`);

    const after = await members(result);
    expect(Object.keys(after).sort()).toEqual(['etcd01', 'etcd02', 'etcd03']);
    expect(after['etcd03']).toMatchObject({ peerUrls: `https://${fresh}:2380`, clientUrls: `https://${fresh}:2379`, learner: 'false' });
    expect(after['etcd03']?.id).not.toBe(before['etcd03']?.id);
    expect(Object.values(after).map((m) => m.id)).not.toContain(before['etcd03']?.id);
    expect([after['etcd01']?.id, after['etcd02']?.id]).toEqual([before['etcd01']?.id, before['etcd02']?.id]);
    expect(result.endpoints[2]).toBe(`https://${fresh}:2379`);
    // every key, from etcd03's own new endpoint (its local copy; TLS checks the new address is in its cert)
    for (let i = 0; i < 20; i++) expect(await localGet(result, 2, `/move/k${i}`)).toBe(`v${i}\n`);
    const served = (await tb.exec(3, 'cat /opt/etcd/ssl/server.crt /opt/etcd/ssl/peer.crt')).stdout.split(/(?<=-----END CERTIFICATE-----\n)/);
    const ca = (await tb.exec(3, 'cat /opt/etcd/ssl/ca.crt')).stdout;
    expect(verifyCertificate(served[0]!, ca, { ip: fresh, usage: 'server' }).valid).toBe(true);
    expect(verifyCertificate(served[1]!, ca, { ip: fresh, usage: 'peer' }).valid).toBe(true);
    expect(verifyCertificate(served[0]!, ca, { ip: old, usage: 'server' }).valid).toBe(false);
    for (const i of [0, 1, 3]) expect((await tb.exec(i, 'cat /opt/etcd/cfg/etcd.env')).stdout).toContain(`etcd03=https://${fresh}:2380`);

    const again = await deployEtcdCluster(moved);
    expect(again.changed).toBe(false);
    expect(again.plan.noChanges).toBe(true);
    expect(again.plan.warnings).toEqual([]);
    expect(await members(again)).toEqual(after);
    spec = moved;
    first = again;
  });

  it('old host up: cleaned (no etcd running, unit gone, data dir moved aside), the cluster healthy', async () => {
    // The powered-off host comes back: its etcd (a removed member now) must not disturb the cluster.
    await tb.startHost(2);
    await new Promise((r) => setTimeout(r, 3000));
    const back = await deployEtcdCluster(spec);
    expect(back.changed).toBe(false);
    expect(back.health?.quorum).toMatchObject({ votingMembers: 3, healthyVoters: 3 });
    expect(Object.keys(await members(back)).sort()).toEqual(['etcd01', 'etcd02', 'etcd03']);
    // The operator does what the warning said; host 2 then takes etcd02 (its old host, host 1, is up).
    await tb.exec(2, 'systemctl disable --now etcd && mv /var/lib/etcd /var/lib/etcd.stale');
    const [old, target] = [tb.hosts[1]!.ip, tb.hosts[2]!.ip];
    const before = await members(back);
    const moved = withMember(spec, 'etcd02', 2);
    const plan = await planEtcdCluster(moved);
    expect(plan.members.map((m) => m.service)).toEqual(['none', 'move', 'none']);
    expect(plan.members[1]?.reason).toBe(`${old} → ${target}`);

    const result = await deployEtcdCluster(moved);
    expect(result.health?.quorum).toMatchObject({ votingMembers: 3, healthyVoters: 3 });
    expect(result.health?.endpoints.every((e) => e.healthy)).toBe(true);
    expect(result.members[1]?.moved).toMatchObject({ from: old, oldMemberId: before['etcd02']?.id, oldHost: 'cleaned', dataMovedAside: expect.stringMatching(/^\/var\/lib\/etcd\.moved-\d{8}T\d{6}Z$/) });
    expect(result.plan.warnings).toEqual([]);
    const after = await members(result);
    expect(after['etcd02']?.peerUrls).toBe(`https://${target}:2380`);
    expect(after['etcd02']?.id).not.toBe(before['etcd02']?.id);
    expect(Object.values(after).map((m) => m.id)).not.toContain(before['etcd02']?.id);
    for (const i of [0, 9, 19]) expect(await localGet(result, 1, `/move/k${i}`)).toBe(`v${i}\n`);

    // The old host: no etcd running, the unit gone, etcd-kit's files gone, the data dir moved aside whole.
    expect((await tb.exec(1, 'systemctl is-active etcd', { allowFailure: true })).stdout.trim()).not.toBe('active');
    expect((await tb.exec(1, 'pgrep -x etcd', { allowFailure: true })).stdout.trim()).toBe('');
    const left = await tb.exec(1, 'for p in /etc/systemd/system/etcd.service /opt/etcd/bin/etcd /opt/etcd/ssl/server.key /opt/etcd/cfg/etcd.env /var/lib/etcd; do test -e "$p" && echo "$p"; done; true');
    expect(left.stdout.trim()).toBe('');
    expect((await tb.exec(1, 'systemctl cat etcd', { allowFailure: true })).code).not.toBe(0);
    const aside = result.members[1]!.moved!.dataMovedAside!;
    expect((await tb.exec(1, `test -d ${aside}/member/wal && test -d ${aside}/member/snap && echo kept`)).stdout.trim()).toBe('kept');

    const again = await deployEtcdCluster(moved);
    expect(again.changed).toBe(false);
    spec = moved;
    first = again;
  });

  it('a move while another member is down: UNSAFE_CHANGE, and nothing changed on any host nor in the PKI dir', async () => {
    await tb.exec(0, 'systemctl stop etcd');
    try {
      // etcd03 to host 1 (cleaned above: a fresh host again)
      const moved = withMember(spec, 'etcd03', 1);
      const hosts = [0, 1, 2, 3];
      const beforeHosts = await Promise.all(hosts.map(hostState));
      // the picture is a real one: members' files and data dirs, the cleaned host's moved-aside copy
      for (const i of [0, 2, 3]) expect(beforeHosts[i]).toMatch(/^\/opt\/etcd\/cfg\/etcd\.env \d+ \d+ [\d.]+$/m);
      for (const i of [0, 2, 3]) expect(beforeHosts[i]).toMatch(/^\/var\/lib\/etcd\/member /m);
      expect(beforeHosts[1]).toMatch(/^\/var\/lib\/etcd\.moved-\d{8}T\d{6}Z /m);
      expect(beforeHosts[1]).not.toContain('/opt/etcd/cfg');
      expect(beforeHosts[0]).toContain('ActiveState=inactive');
      expect(beforeHosts[3]).toContain('ActiveState=active');
      const beforePki = await pkiState(spec.pki.dir);
      const planned = await rejection(planEtcdCluster(moved));
      expect([planned.code, planned.member, planned.details?.['rule']]).toEqual(['UNSAFE_CHANGE', 'etcd03', 'others-healthy']);
      const err = await rejection(deployEtcdCluster(moved));
      expect([err.code, err.member]).toEqual(['UNSAFE_CHANGE', 'etcd03']);
      expect(err.message).toBe(`refusing to move etcd03 (${tb.hosts[3]!.ip} → ${tb.hosts[1]!.ip}) while etcd01 does not answer: fix it first`);
      expect(await Promise.all(hosts.map(hostState))).toEqual(beforeHosts);
      expect(await pkiState(spec.pki.dir)).toBe(beforePki);
      expect((await tb.exec(3, 'systemctl is-active etcd')).stdout.trim()).toBe('active');
    } finally {
      await tb.exec(0, 'systemctl start etcd');
    }
    const back = await deployEtcdCluster(spec);
    expect(back.health?.endpoints.every((e) => e.healthy)).toBe(true);
    expect(Object.keys(await members(back)).sort()).toEqual(['etcd01', 'etcd02', 'etcd03']);
  });

  it('a move cut short after the member remove: the re-run just joins the new host, and the next changes nothing', async () => {
    // What a move of etcd03 to host 1 does before it adds the new member, then "the run failed".
    const before = await members(first);
    const oldId = before['etcd03']!.id;
    await tb.exec(3, 'systemctl disable --now etcd && mv /var/lib/etcd /var/lib/etcd.moved-20261201T000000Z');
    await etcdctl(first, 'member', 'remove', oldId);
    const moved = withMember(spec, 'etcd03', 1);
    const plan = await planEtcdCluster(moved);
    expect(plan.members.map((m) => [m.service, m.reason])).toEqual([
      ['none', undefined],
      ['none', undefined],
      ['join', undefined],
    ]);
    const result = await deployEtcdCluster(moved);
    expect(result.members[2]?.moved).toBeUndefined();
    expect(result.members[2]?.started).toBe(true);
    expect(result.health?.quorum).toMatchObject({ votingMembers: 3, healthyVoters: 3 });
    const after = await members(result);
    expect(after['etcd03']?.peerUrls).toBe(`https://${tb.hosts[1]!.ip}:2380`);
    expect(Object.values(after).map((m) => m.id)).not.toContain(oldId);
    expect(await localGet(result, 2, '/move/k5')).toBe('v5\n');
    const again = await deployEtcdCluster(moved);
    expect(again.changed).toBe(false);
  });

  /** A copy of the testbed's known_hosts where host `i`'s line is dropped, or carries host `other`'s key. */
  async function knownHosts(i: number, other?: number): Promise<string> {
    const lines = (await readFile(tb.knownHostsPath, 'utf8')).trim().split('\n');
    const ip = tb.hosts[i]!.ip;
    const key = (n: number) => lines.find((l) => l.startsWith(`${tb.hosts[n]!.ip} `))!.split(' ').slice(1).join(' ');
    expect(lines.some((l) => l.startsWith(`${ip} `))).toBe(true);
    const kept = lines.filter((l) => !l.startsWith(`${ip} `));
    const path = `${tb.knownHostsPath}.${other === undefined ? 'without' : 'wrong'}-${i}`;
    await writeFile(path, `${[...kept, ...(other === undefined ? [] : [`${ip} ${key(other)}`])].join('\n')}\n`);
    return path;
  }

  it("the old host answers with another key than known_hosts has: refused before any host changes (SSH_HOST_KEY_MISMATCH)", async () => {
    // etcd03 runs on host 1 now; the spec moves it to host 3, but host 1's known key is host 0's
    const moved = { ...withMember(spec, 'etcd03', 3), ssh: { ...spec.ssh, knownHostsPath: await knownHosts(1, 0) } };
    const hosts = [0, 1, 2, 3];
    const beforeHosts = await Promise.all(hosts.map(hostState));
    const beforePki = await pkiState(spec.pki.dir);
    const before = await members(first);
    for (const attempt of [() => planEtcdCluster(moved), () => deployEtcdCluster(moved)]) {
      const err = await rejection(attempt());
      expect([err.code, err.member]).toEqual(['SSH_HOST_KEY_MISMATCH', 'etcd03']);
      expect(err.message).toContain(`the old host ${tb.hosts[1]!.ip} could not be cleaned up (the cluster is unchanged`);
    }
    expect(await Promise.all(hosts.map(hostState))).toEqual(beforeHosts);
    expect(await pkiState(spec.pki.dir)).toBe(beforePki);
    expect(await members(first)).toEqual(before);
    expect((await tb.exec(1, 'systemctl is-active etcd')).stdout.trim()).toBe('active');
  });

  it('the old host has no key in known_hosts: treated like an unreachable host — never logged into, moved with a warning', async () => {
    const moved = { ...withMember(spec, 'etcd03', 3), ssh: { ...spec.ssh, knownHostsPath: await knownHosts(1) } };
    const oldId = (await members(first))['etcd03']!.id;
    const plan = await planEtcdCluster(moved);
    expect(plan.members[2]).toMatchObject({ service: 'move', reason: `${tb.hosts[1]!.ip} → ${tb.hosts[3]!.ip}` });
    expect(plan.warnings).toEqual([expect.stringContaining('cannot be reached over SSH (SSH_HOST_KEY_UNKNOWN: ')]);
    const result = await deployEtcdCluster(moved);
    expect(result.members[2]?.moved).toEqual({ from: tb.hosts[1]!.ip, oldMemberId: oldId, oldHost: 'unreachable' });
    expect(result.plan.warnings.some((w) => w.startsWith(`etcd03: moved from ${tb.hosts[1]!.ip} without cleaning that host (SSH_HOST_KEY_UNKNOWN`))).toBe(true);
    expect(result.health?.quorum).toMatchObject({ votingMembers: 3, healthyVoters: 3 });
    const after = await members(result);
    expect(after['etcd03']?.peerUrls).toBe(`https://${tb.hosts[3]!.ip}:2380`);
    expect(Object.values(after).map((m) => m.id)).not.toContain(oldId);
    expect(await localGet(result, 2, '/move/k17')).toBe('v17\n');
    // nothing ran on host 1: its unit, files and data dir are where they were
    const left = await tb.exec(1, 'for p in /etc/systemd/system/etcd.service /opt/etcd/bin/etcd /opt/etcd/cfg/etcd.env /var/lib/etcd/member; do test -e "$p" && echo "$p"; done; ls -d /var/lib/etcd.moved-* 2>/dev/null; true');
    expect(left.stdout.trim().split('\n')).toEqual([
      '/etc/systemd/system/etcd.service',
      '/opt/etcd/bin/etcd',
      '/opt/etcd/cfg/etcd.env',
      '/var/lib/etcd/member',
      expect.stringMatching(/^\/var\/lib\/etcd\.moved-\d{8}T\d{6}Z$/), // from the move of etcd02 away from host 1 earlier
    ]);
    expect((await deployEtcdCluster(moved)).changed).toBe(false);
  });
});
