// The demo: sandbox hosts + a real deploy through the public API, exactly as the README shows it.
// Started by scripts/demo.sh (which installs and builds first).
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { deployEtcdCluster, type DeployProgressEvent, rotateEtcdCa, saveSnapshot } from 'etcd-kit';
import { etcdRelease } from '../test/helpers/etcd-releases.js';
import { startTestbed } from '../test/testbed/index.js';

const { values } = parseArgs({
  options: { keep: { type: 'boolean' }, tarball: { type: 'string' }, members: { type: 'string', default: '3' } },
});
const count = Number(values.members);
const workDir = resolve('.demo');
await mkdir(workDir, { recursive: true });

const say = (text: string) => console.log(`\n== ${text}`);
const t0 = performance.now();
say(`starting ${count} sandbox hosts (Debian 12, systemd, sshd; first run builds the root fs, ~1 min)`);
const testbed = await startTestbed({ hosts: count, persistent: Boolean(values.keep) });
for (const h of testbed.hosts) console.log(`   ${h.name}  ${h.ip}  ${h.hostKeyFingerprint}`);

// Without --tarball: the newest etcd 3.6 of the release cache (scripts/etcd-releases.sh, which demo.sh runs
// first). The cache outlives the demo, so the written spec stays usable with the CLI afterwards.
let tarball = values.tarball ? resolve(values.tarball) : '';
if (!tarball) {
  const release = etcdRelease('3.6');
  tarball = release.tarball;
  console.log(`   etcd ${release.version} (${release.source}) from the release cache: ${tarball}`);
} else {
  // A tarball named like an official release says its version: etcd-v3.6.14-linux-amd64.tar.gz.
  const version = /^etcd-v(\d+\.\d+\.\d+)-/.exec(basename(tarball))?.[1];
  console.log(`   etcd ${version ?? '(version not in the file name)'} from ${tarball}`);
}

let failed = false;
try {
  say('deploying with deployEtcdCluster()');
  const lastStep = new Map<string, string>();
  const onProgress = (e: DeployProgressEvent) => {
    const who = e.member ?? 'cluster';
    const line = e.step === 'upload' ? `upload ${e.file ?? ''}` : `${e.step}${e.message ? `: ${e.message}` : ''}`;
    if (lastStep.get(who) === line) return;
    lastStep.set(who, line);
    console.log(`   ${who.padEnd(8)} ${line}`);
  };
  // The spec a user would write: members, SSH (host keys verified against known_hosts), binaries, PKI.
  const spec = {
    members: testbed.hosts.map((h, i) => ({ name: `etcd0${i + 1}`, host: h.ip })),
    ssh: { user: 'root', privateKeyPath: testbed.rootKeyPath, knownHostsPath: testbed.knownHostsPath },
    etcd: { tarball },
    pki: { dir: resolve(workDir, `pki-${testbed.id}`) },
  };
  await writeFile(resolve(workDir, 'cluster.json'), `${JSON.stringify(spec, null, 2)}\n`);
  const result = await deployEtcdCluster(spec, { onProgress });
  console.log(`   deployed in ${(result.durationMs / 1000).toFixed(1)} s`);

  say('health (every member checked over mTLS with the admin client certificate)');
  for (const e of result.health?.endpoints ?? []) {
    const s = e.status;
    console.log(
      `   ${e.endpoint.padEnd(26)} ${(e.memberName ?? '').padEnd(7)} healthy=${e.healthy}  leader=${s?.memberId === result.health?.leader?.id}  v${s?.version}  db=${s?.dbSizeBytes}B  ${e.tookMs.toFixed(1)} ms`,
    );
  }
  console.log(`   cluster healthy: ${result.health?.healthy}, leader ${result.health?.leader?.name}`);

  say('re-run with nothing changed');
  const again = await deployEtcdCluster(spec);
  console.log(`   ${again.changed ? 'CHANGED (unexpected)' : 'no changes'} in ${(again.durationMs / 1000).toFixed(2)} s; bytes sent: ${again.members.reduce((n, m) => n + m.bytesSent, 0)}`);

  say('kube-apiserver flags');
  console.log(`   ${result.kubeApiserverFlags.join(' \\\n   ')}`);
  const admin = result.clientCerts['admin']!;
  const etcdctlArgs = [`--endpoints=${result.endpoints.join(',')}`, `--cacert=${admin.caFile}`, `--cert=${admin.certFile}`, `--key=${admin.keyFile}`];
  say('etcdctl with the issued admin certificate: write and read a key');
  const etcdctl = (...args: string[]) =>
    execFileSync('etcdctl', [...etcdctlArgs, ...args], { env: { ...process.env, ETCDCTL_API: '3' }, encoding: 'utf8' }).trim();
  console.log(`   put /demo/greeting -> ${etcdctl('put', '/demo/greeting', 'hello from etcd-kit')}`);
  console.log(`   get /demo/greeting -> ${etcdctl('get', '/demo/greeting', '--print-value-only')}`);
  say('backup: saveSnapshot (what `etcd-kit snapshot save` does)');
  const snap = await saveSnapshot({
    endpoints: result.endpoints,
    tls: { caPem: await readFile(admin.caFile, 'utf8'), certPem: await readFile(admin.certFile, 'utf8'), keyPem: await readFile(admin.keyFile, 'utf8') },
    path: resolve(workDir, 'snapshot.db'),
  });
  console.log(`   ${snap.path}: ${snap.bytes} bytes from ${snap.endpoint}, checked against etcd's SHA-256, mode 0600`);
  console.log(`   etcdctl snapshot status: ${execFileSync('etcdctl', ['snapshot', 'status', snap.path], { env: { ...process.env, ETCDCTL_API: '3' }, encoding: 'utf8' }).trim()}`);
  say('CA rotation: rotateEtcdCa() puts a new CA in place on the running cluster (what `etcd-kit pki rotate-ca` does)');
  const rotated = await rotateEtcdCa(spec);
  for (const p of rotated.phases) {
    const steps = rotated.steps.filter((s) => s.phase === p.phase);
    console.log(`   ${p.phase.padEnd(10)} ${(p.durationMs / 1000).toFixed(1)} s  ${steps.map((s) => `${s.member}${s.restarted ? ' (restarted)' : ''}`).join(', ')}`);
  }
  console.log(`   done in ${(rotated.durationMs / 1000).toFixed(1)} s: new CA ${rotated.state.newCaFingerprint256.slice(0, 23)}…, the old one kept in ${rotated.state.retiredDir}`);
  // The same files as before, re-read: ca-bundle.crt and the admin pair now hold the new CA's certificates.
  console.log(`   get /demo/greeting -> ${etcdctl('get', '/demo/greeting', '--print-value-only')}`);
  say(values.keep ? 'try it' : 'try it (run the demo with --keep to leave the cluster up)');
  console.log(`   ETCDCTL_API=3 etcdctl ${etcdctlArgs.join(' \\\n     ')} endpoint health`);
  console.log(`   CLI: node dist/cli.js health -f ${resolve(workDir, 'cluster.json')}`);
} catch (err) {
  failed = true;
  console.error(`\ndemo failed: ${err instanceof Error ? `${(err as { code?: string }).code ?? ''} ${err.message}` : String(err)}`);
} finally {
  if (values.keep && !failed) {
    say(`hosts kept (testbed ${testbed.id}); remove with: node --import tsx test/testbed/cli.ts down --id ${testbed.id}`);
  } else {
    say('tearing down the sandbox hosts');
    await testbed.destroy();
  }
  console.log(`   total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
process.exitCode = failed ? 1 : 0;
