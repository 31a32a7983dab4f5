/**
 * installMember on testbed hosts (systemd-nspawn + sshd on this machine, so the "network" is a veth pair):
 *   1. first install of one member alone (binaries from a cached release tarball: scripts/etcd-releases.sh;
 *      ETCD_KIT_BENCH_ETCD picks the version, 'X.Y' or 'X.Y.Z', default the newest 3.6);
 *   2. no-change re-runs of that member: right away (files younger than 2 s are re-hashed on the host),
 *      then with the host's hash cache warm — each with a fresh SSH connection, and through a reused one;
 *   3. first install of the other two members concurrently (the cluster forms), then no-change re-runs of
 *      all three concurrently.
 * Prints wall times, bytes sent and what install reported. Needs root (the testbed).
 *
 *   node --import tsx bench/install.ts [rounds]      (default 5 re-run rounds)
 */
import { availableParallelism, loadavg } from 'node:os';
import { connect, type InstallReport, installMember, prepareBinaries, prepareMemberBundle, type SshTarget } from '../src/remote/index.js';
import { etcdRelease } from '../test/helpers/etcd-releases.js';
import { createTestPki, renderMemberFiles } from '../test/remote/cluster-files.js';
import { startTestbed } from '../test/testbed/index.js';

const rounds = Number(process.argv[2] ?? 5);
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const fmt = (values: number[]) =>
  `median ${median(values).toFixed(0)} ms (min ${Math.min(...values).toFixed(0)}, max ${Math.max(...values).toFixed(0)}, n=${values.length})`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const summary = (r: InstallReport) =>
  `${r.durationMs} ms, ${r.bytesSent} bytes, ${r.changedFiles.length} files changed, started=${r.started} restarted=${r.restarted}`;

const release = etcdRelease(process.env['ETCD_KIT_BENCH_ETCD'] ?? '3.6');
console.log(`machine: ${availableParallelism()} cores, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}; etcd ${release.version} (${release.source})`);
const tb = await startTestbed({ hosts: 3 });
try {
  const members = tb.hosts.map((h, i) => ({ name: `etcd0${i + 1}`, address: h.ip }));
  const pki = await createTestPki(members);
  const files = renderMemberFiles(pki, { members, etcdVersion: release.version });
  let t = performance.now();
  const binaries = await prepareBinaries({ tarball: release.tarball });
  console.log(`prepareBinaries (read + gunzip + untar + sha256 of ${binaries.files.map((f) => f.name).join(', ')}): ${(performance.now() - t).toFixed(0)} ms`);
  const bundles = await Promise.all(members.map((m) => prepareMemberBundle({ binaries, files: files[m.name]! })));
  const target = (i: number): SshTarget => ({ host: tb.hosts[i]!.ip, privateKeyPath: tb.rootKeyPath, knownHostsPath: tb.knownHostsPath });

  t = performance.now();
  const first = await installMember(target(0), bundles[0]!);
  console.log(`first install, one member alone: ${(performance.now() - t).toFixed(0)} ms wall — ${summary(first)}`);

  const immediate = await installMember(target(0), bundles[0]!);
  console.log(`no-change re-run right after (binaries re-hashed on the host): ${summary(immediate)}`);
  await sleep(2500);

  const fresh: number[] = [];
  let bytes = 0;
  for (let i = 0; i < rounds; i++) {
    const r = await installMember(target(0), bundles[0]!);
    fresh.push(r.durationMs);
    bytes += r.bytesSent;
  }
  console.log(`no-change re-run, new SSH connection each: ${fmt(fresh)}, bytes sent in total ${bytes}`);

  const conn = await connect(target(0));
  const reused: number[] = [];
  for (let i = 0; i < rounds; i++) reused.push((await installMember(conn, bundles[0]!)).durationMs);
  await conn.close();
  console.log(`no-change re-run, connection reused: ${fmt(reused)}`);

  t = performance.now();
  const others = await Promise.all([1, 2].map((i) => installMember(target(i), bundles[i]!)));
  console.log(`first install of members 2 and 3 concurrently: ${(performance.now() - t).toFixed(0)} ms wall`);
  for (const r of others) console.log(`  ${r.host}: ${summary(r)}`);
  await sleep(2500);

  const all: number[] = [];
  for (let i = 0; i < rounds; i++) {
    t = performance.now();
    const reports = await Promise.all([0, 1, 2].map((j) => installMember(target(j), bundles[j]!)));
    all.push(performance.now() - t);
    if (reports.some((r) => r.bytesSent !== 0 || r.restarted || r.started)) throw new Error('a no-change re-run changed something');
  }
  console.log(`no-change re-run of all 3 members concurrently: ${fmt(all)} wall`);
} finally {
  await tb.destroy();
}
