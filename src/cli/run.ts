// The etcd-kit command line: a thin shell over the public API. Every command maps to one or two library
// calls; the CLI adds argument parsing, output formatting and exit codes.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Command, CommanderError, Option } from 'commander';
import {
  type ClusterSpec,
  checkHealth,
  clientUrl,
  DEFAULT_HEALTH_TIMEOUT_MS,
  type DefragmentProgress,
  defragmentCluster,
  deployEtcdCluster,
  EXAMPLE_SPEC_YAML,
  EtcdKitError,
  ensureClusterPki,
  formatPlan,
  inspectPkiDir,
  KEY_ALGORITHMS,
  type KeyAlgorithm,
  type PkiDirCertificate,
  loadClusterSpecFile,
  pkiPaths,
  readPkiClient,
  recoverEtcdCluster,
  removeEtcdMember,
  resetEtcdCluster,
  type RestoreResult,
  restoreEtcdCluster,
  type RotateCaResult,
  rotateEtcdCa,
  saveSnapshot,
  saveSnapshotToDir,
} from '../index.js';
import { formatBytes, formatHealth, table } from './format.js';
import { liveProgress, plainProgress, type ProgressView } from './progress.js';

/** Exit codes scripts can rely on. */
export const EXIT = {
  ok: 0,
  /** A run failed (host unreachable, deploy error, ...). */
  failed: 1,
  /** Bad input: usage error, invalid spec, or an etcd version change etcd's rules refuse; nothing was touched. */
  invalid: 2,
  /** `health`: the cluster is unavailable (no quorum: it serves no linearizable read and no write). */
  unavailable: 3,
  /** `pki inspect --warn-days N`: a certificate expires within N days. */
  certExpiring: 3,
  /** `plan --exit-code`: changes are pending. */
  changesPending: 4,
  /** `health`: the cluster is degraded (it has a quorum, but a member does not answer). */
  degraded: 5,
} as const;

/** Where the CLI writes; injectable for tests. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** True when stderr is a terminal (live progress view). */
  isTTY: boolean;
}

const defaultIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  isTTY: Boolean(process.stderr.isTTY),
};

function version(): string {
  const require = createRequire(import.meta.url);
  for (const path of ['../package.json', '../../package.json']) {
    try {
      return (require(path) as { version: string }).version;
    } catch {
      // try the next location (dist/ vs src/cli/)
    }
  }
  return '0.0.0';
}

function progressView(io: CliIo, json: boolean): ProgressView | undefined {
  if (json) return undefined;
  return io.isTTY ? liveProgress(process.stderr) : plainProgress((line) => io.stderr(`${line}\n`));
}

/** Runs `fn` with the progress listener of a view (none with --json); the view is closed before results print. */
async function withProgress<T>(io: CliIo, json: boolean, fn: (progress: { onProgress?: ProgressView['onProgress'] }) => Promise<T>): Promise<T> {
  const view = progressView(io, json);
  try {
    return await fn(view ? { onProgress: view.onProgress } : {});
  } finally {
    view?.close();
  }
}

/** ca.crt and the client's pair only: a backup job's PKI dir needs neither ca.key nor the members' keys. */
async function clientTls(pkiDir: string, client: string) {
  const paths = pkiPaths(pkiDir);
  const { cert, key } = paths.client(client);
  try {
    return await readPkiClient(pkiDir, client);
  } catch (err) {
    const path = err instanceof EtcdKitError ? (err.details as { path?: string } | undefined)?.path : undefined;
    if (err instanceof EtcdKitError && err.code === 'PKI_IO' && (path === cert || path === key) && !existsSync(path)) {
      throw new EtcdKitError('INVALID_ARGUMENT', `no client certificate '${client}' in ${pkiDir}`, { field: 'client', cause: err });
    }
    throw err;
  }
}

interface AccessOptions {
  file?: string;
  endpoints?: string;
  pkiDir?: string;
  client: string;
}

/** Endpoints and client TLS for commands that talk to a running cluster: from a spec, or given directly. */
async function clusterAccess(command: string, opts: AccessOptions) {
  let endpoints: string[];
  let pkiDir: string;
  let name: string | undefined;
  if (opts.file) {
    const spec = await loadClusterSpecFile(opts.file);
    endpoints = spec.members.map((m) => clientUrl(m.cluster));
    pkiDir = opts.pkiDir ?? spec.pki.dir;
    name = spec.name;
  } else if (opts.endpoints && opts.pkiDir) {
    endpoints = opts.endpoints.split(',').map((e) => e.trim());
    pkiDir = opts.pkiDir;
  } else {
    throw new EtcdKitError('INVALID_ARGUMENT', `${command} needs -f <spec>, or --endpoints with --pki-dir`, { field: 'file' });
  }
  return { endpoints, tls: await clientTls(pkiDir, opts.client), name };
}

function accessOptions(command: Command): Command {
  return command
    .option('-f, --file <spec>', 'cluster spec: endpoints and the admin client cert come from it')
    .option('--endpoints <urls>', 'comma-separated https:// client URLs (instead of -f)')
    .option('--pki-dir <dir>', 'PKI dir holding ca.crt and the client cert (with --endpoints)')
    .option('--client <name>', 'client certificate to use', 'admin');
}

function etcdctlHint(spec: ClusterSpec, endpoints: string[]): string {
  const paths = pkiPaths(spec.pki.dir);
  const admin = paths.client(spec.pki.clients.includes('admin') ? 'admin' : spec.pki.clients[0]!);
  return `ETCDCTL_API=3 etcdctl --endpoints=${endpoints.join(',')} --cacert=${paths.caBundle} --cert=${admin.cert} --key=${admin.key} endpoint health`;
}

function buildProgram(io: CliIo, setExit: (code: number) => void): Command {
  const program = new Command('etcd-kit')
    .description('Deploy and operate secure etcd clusters over SSH (mTLS everywhere, idempotent).')
    .version(version())
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride()
    .showHelpAfterError();

  program
    .command('init')
    .description('write a commented example cluster spec')
    .option('-o, --output <file>', 'where to write it', 'cluster.yaml')
    .option('--force', 'overwrite an existing file')
    .action(async (opts: { output: string; force?: boolean }) => {
      if (existsSync(opts.output) && !opts.force) {
        throw new EtcdKitError('INVALID_ARGUMENT', `${opts.output} exists (use --force to overwrite)`, { field: 'output' });
      }
      await writeFile(opts.output, EXAMPLE_SPEC_YAML, { mode: 0o644 });
      io.stdout(`wrote ${opts.output}: edit members, ssh and etcd, then run: etcd-kit plan -f ${opts.output}\n`);
    });

  program
    .command('plan')
    .description('show what deploy would change (read-only)')
    .requiredOption('-f, --file <spec>', 'cluster spec (YAML or JSON)')
    .option('--json', 'machine-readable output')
    .option('--exit-code', `exit ${EXIT.changesPending} when changes are pending`)
    .action(async (opts: { file: string; json?: boolean; exitCode?: boolean }) => {
      const spec = await loadClusterSpecFile(opts.file);
      const result = await deployEtcdCluster(spec, { dryRun: true });
      io.stdout(opts.json ? `${JSON.stringify(result.plan, null, 2)}\n` : `${formatPlan(result.plan)}\n`);
      if (opts.exitCode && !result.plan.noChanges) setExit(EXIT.changesPending);
    });

  program
    .command('deploy')
    .description('create or update the cluster so it matches the spec')
    .requiredOption('-f, --file <spec>', 'cluster spec (YAML or JSON)')
    .option('--json', 'machine-readable output (no progress view)')
    .option('--dry-run', 'plan only, change nothing')
    .addOption(new Option('--health-timeout <ms>', 'longest wait for health, in ms').default(DEFAULT_HEALTH_TIMEOUT_MS).argParser(Number))
    .action(async (opts: { file: string; json?: boolean; dryRun?: boolean; healthTimeout: number }) => {
      const spec = await loadClusterSpecFile(opts.file);
      for (const w of spec.warnings) io.stderr(`warning: ${w}\n`);
      const abort = new AbortController();
      const onSignal = () => abort.abort(new Error('interrupted'));
      process.once('SIGINT', onSignal);
      try {
        const result = await withProgress(io, Boolean(opts.json), (progress) =>
          deployEtcdCluster(spec, { dryRun: Boolean(opts.dryRun), healthTimeoutMs: opts.healthTimeout, signal: abort.signal, ...progress }),
        );
        if (opts.json) {
          io.stdout(`${JSON.stringify(result, null, 2)}\n`);
          return;
        }
        if (opts.dryRun) {
          io.stdout(`${formatPlan(result.plan)}\n`);
          return;
        }
        io.stdout(`${result.changed ? 'deployed' : 'no changes'} in ${(result.durationMs / 1000).toFixed(1)} s, etcd ${result.etcdVersion}\n\n`);
        if (result.snapshot) io.stdout(`snapshot before the version change: ${result.snapshot.path} (${result.snapshot.bytes} bytes, sha256 ${result.snapshot.sha256})\n\n`);
        if (result.health) io.stdout(`${formatHealth(result.health)}\n\n`);
        io.stdout(`kube-apiserver flags:\n  ${result.kubeApiserverFlags.join(' \\\n  ')}\n\n`);
        io.stdout(`try:\n  ${etcdctlHint(spec, result.endpoints)}\n`);
      } finally {
        process.removeListener('SIGINT', onSignal);
      }
    });

  accessOptions(
    program
      .command('health')
      .description('check every member over mTLS (linearizable read per endpoint)')
      .addHelpText(
        'after',
        `\nVerdict and exit code: healthy (every member answers) ${EXIT.ok}, degraded (quorum, but a member does not answer) ${EXIT.degraded}, unavailable (no quorum) ${EXIT.unavailable}.`,
      ),
  )
    .addOption(new Option('--timeout <ms>', 'per-endpoint budget in ms').default(2000).argParser(Number))
    // Deprecated: "every endpoint healthy" is what exit 0 means now; accepted so scripts keep working.
    .addOption(new Option('--all', 'deprecated, no effect: exit 0 needs every member healthy').hideHelp())
    .option('--json', 'machine-readable output')
    .action(async (opts: AccessOptions & { timeout: number; all?: boolean; json?: boolean }) => {
      const { endpoints, tls } = await clusterAccess('health', opts);
      const health = await checkHealth({ endpoints, tls, timeoutMs: opts.timeout });
      io.stdout(opts.json ? `${JSON.stringify(health, null, 2)}\n` : `${formatHealth(health)}\n`);
      if (health.verdict === 'degraded') setExit(EXIT.degraded);
      else if (health.verdict === 'unavailable') setExit(EXIT.unavailable);
    });

  const snapshot = program.command('snapshot').description('backups of the key space');
  accessOptions(snapshot.command('save').description('save a snapshot (etcdctl snapshot restore reads it), mode 0600'))
    .addOption(new Option('-o, --output <file>', 'snapshot file (default: etcd-snapshot-<cluster>-<UTC time>.db)').conflicts('dir'))
    .option('--dir <dir>', 'backup directory (created 0700): <prefix>-<UTC yyyymmddThhmmssZ>.db plus its .sha256 file')
    .option('--keep <n>', 'with --dir: keep the newest n snapshots of the prefix, delete older ones once the new one is complete')
    .option('--prefix <name>', 'with --dir: file name prefix (default: etcd-snapshot-<cluster>)')
    .addOption(new Option('--timeout <ms>', 'longest transfer from one member, in ms').default(300_000).argParser(Number))
    .option('--json', 'machine-readable output')
    .action(async (opts: AccessOptions & { output?: string; dir?: string; keep?: string; prefix?: string; timeout: number; json?: boolean }) => {
      if (opts.dir === undefined && (opts.keep !== undefined || opts.prefix !== undefined)) {
        throw new EtcdKitError('INVALID_ARGUMENT', `${opts.keep !== undefined ? '--keep' : '--prefix'} needs --dir`, { field: opts.keep !== undefined ? 'keep' : 'prefix' });
      }
      const keep = opts.keep === undefined ? undefined : /^\d+$/.test(opts.keep) ? Number(opts.keep) : Number.NaN;
      if (keep !== undefined && !(Number.isInteger(keep) && keep >= 1)) {
        throw new EtcdKitError('INVALID_ARGUMENT', `--keep: must be an integer ≥ 1 (got ${opts.keep})`, { field: 'keep' });
      }
      const { endpoints, tls, name } = await clusterAccess('snapshot save', opts);
      if (opts.dir !== undefined) {
        const prefix = opts.prefix ?? `etcd-snapshot-${name ?? 'cluster'}`;
        const snap = await saveSnapshotToDir({ endpoints, tls, dir: opts.dir, prefix, timeoutMs: opts.timeout, ...(keep === undefined ? {} : { keep }) });
        if (opts.json) {
          const skipped = snap.skipped.map((s) => ({ endpoint: s.endpoint, code: s.error.code, message: s.error.message }));
          io.stdout(`${JSON.stringify({ file: snap.path, ...snap, skipped }, null, 2)}\n`);
          return;
        }
        for (const s of snap.skipped) io.stderr(`skipped ${s.endpoint}: ${s.error.message}\n`);
        io.stdout(`saved ${snap.path} (${(snap.bytes / 1e6).toFixed(1)} MB from ${snap.endpoint}, ${snap.durationMs.toFixed(0)} ms)\nsha256 ${snap.sha256} (${snap.sha256File})\n`);
        for (const p of snap.pruned) io.stdout(`deleted ${p}\n`);
        return;
      }
      const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
      const path = opts.output ?? `etcd-snapshot-${name ?? 'cluster'}-${stamp}.db`;
      const snap = await saveSnapshot({ endpoints, tls, path, timeoutMs: opts.timeout });
      if (opts.json) {
        const skipped = snap.skipped.map((s) => ({ endpoint: s.endpoint, code: s.error.code, message: s.error.message }));
        io.stdout(`${JSON.stringify({ ...snap, skipped }, null, 2)}\n`);
        return;
      }
      for (const s of snap.skipped) io.stderr(`skipped ${s.endpoint}: ${s.error.message}\n`);
      io.stdout(`saved ${snap.path} (${(snap.bytes / 1e6).toFixed(1)} MB from ${snap.endpoint}, ${snap.durationMs.toFixed(0)} ms)\nsha256 ${snap.sha256}\n`);
    });

  const printRestore = (verb: string, result: RestoreResult) => {
    io.stdout(`${verb} in ${(result.durationMs / 1000).toFixed(1)} s: cluster ${result.clusterId}, revision ${result.revision}, from ${result.snapshot.path} (sha256 ${result.snapshot.sha256})\n`);
    const rows = result.members.map((m) => [m.name, m.host, m.memberId, m.movedAside ?? '-']);
    io.stdout(`${table(['MEMBER', 'HOST', 'NEW MEMBER ID', 'OLD DATA DIR KEPT AS'], rows)}\n\n${formatHealth(result.health)}\n`);
  };
  snapshot
    .command('restore')
    .description('rebuild every member from a snapshot: new cluster, old data dirs kept aside')
    .requiredOption('-f, --file <spec>', 'cluster spec (YAML or JSON)')
    .requiredOption('--from <snapshot>', 'snapshot file (etcd-kit snapshot save, etcdctl snapshot save)')
    .option('--replace-running', 'restore over a running, healthy cluster: every key goes back to the snapshot')
    .addOption(new Option('--bump-revision <n>', 'raise the revision by n after the restore (watch clients never see it go back; needs --mark-compacted, etcd 3.5.10+)').argParser(Number))
    .option('--mark-compacted', 'mark the restored revision compacted (with --bump-revision)')
    .addOption(new Option('--health-timeout <ms>', 'longest wait for health, in ms').default(DEFAULT_HEALTH_TIMEOUT_MS).argParser(Number))
    .option('--json', 'machine-readable output (no progress view)')
    .action(async (opts: { file: string; from: string; replaceRunning?: boolean; bumpRevision?: number; markCompacted?: boolean; healthTimeout: number; json?: boolean }) => {
      const spec = await loadClusterSpecFile(opts.file);
      const result = await withProgress(io, Boolean(opts.json), (progress) =>
        restoreEtcdCluster(spec, {
          snapshot: opts.from,
          replaceRunning: Boolean(opts.replaceRunning),
          ...(opts.bumpRevision !== undefined ? { bumpRevision: opts.bumpRevision } : {}),
          ...(opts.markCompacted ? { markCompacted: true } : {}),
          healthTimeoutMs: opts.healthTimeout,
          ...progress,
        }),
      );
      if (opts.json) io.stdout(`${JSON.stringify(result, null, 2)}\n`);
      else printRestore('restored', result);
    });

  program
    .command('recover')
    .description('a lost quorum: rebuild every member from the data of the one that survived')
    .requiredOption('-f, --file <spec>', 'cluster spec (YAML or JSON)')
    .requiredOption('--from <member>', 'the member whose data survived')
    .option('--backup-dir <dir>', 'where the survivor\'s data is kept on this machine', './etcd-kit-backups')
    .addOption(new Option('--health-timeout <ms>', 'longest wait for health, in ms').default(DEFAULT_HEALTH_TIMEOUT_MS).argParser(Number))
    .option('--json', 'machine-readable output (no progress view)')
    .action(async (opts: { file: string; from: string; backupDir: string; healthTimeout: number; json?: boolean }) => {
      const spec = await loadClusterSpecFile(opts.file);
      const result = await withProgress(io, Boolean(opts.json), (progress) =>
        recoverEtcdCluster(spec, { from: opts.from, backupDir: opts.backupDir, healthTimeoutMs: opts.healthTimeout, ...progress }),
      );
      if (opts.json) io.stdout(`${JSON.stringify(result, null, 2)}\n`);
      else printRestore(`recovered from ${opts.from}`, result);
    });

  accessOptions(program.command('defrag').description('defragment every member, one at a time, leader last; then disarm NOSPACE'))
    .option('--no-disarm', 'leave a NOSPACE alarm raised')
    .addOption(new Option('--timeout <ms>', 'longest defragmentation of one member, in ms').default(300_000).argParser(Number))
    .option('--json', 'machine-readable output')
    .action(async (opts: AccessOptions & { disarm: boolean; timeout: number; json?: boolean }) => {
      const { endpoints, tls } = await clusterAccess('defrag', opts);
      const result = await defragmentCluster({
        endpoints,
        tls,
        timeoutMs: opts.timeout,
        disarmNoSpace: opts.disarm,
        ...(opts.json ? {} : { onProgress: (e: DefragmentProgress) => io.stderr(`${e.memberName ?? e.endpoint}: ${e.step}\n`) }),
      });
      if (opts.json) {
        io.stdout(`${JSON.stringify(result, null, 2)}\n`);
        return;
      }
      const rows = result.members.map((m) => [m.memberName ?? '', m.endpoint, formatBytes(m.dbSizeBefore), formatBytes(m.dbSizeAfter), `${m.durationMs.toFixed(0)} ms`]);
      io.stdout(`${table(['MEMBER', 'ENDPOINT', 'DB BEFORE', 'DB AFTER', 'TOOK'], rows)}\n`);
      if (result.disarmed.length > 0) io.stdout(`disarmed: ${result.disarmed.map((a) => `${a.alarm} (${a.memberName ?? a.memberId})`).join(', ')}\n`);
    });

  const member = program.command('member').description('membership changes');
  member
    .command('remove <name>')
    .description('remove a member the spec no longer lists: member remove, clean its host, update the others (no restarts)')
    .requiredOption('-f, --file <spec>', 'cluster spec without the member (YAML or JSON)')
    .option('--host <host>', 'SSH host of the removed member (default: the address in its peer URL)')
    .option('--keep-data', "keep the removed member's data dir on its host")
    .option('--no-clean-host', 'the host is gone for good: change the membership only')
    .option('--json', 'machine-readable output')
    .action(async (name: string, opts: { file: string; host?: string; keepData?: boolean; cleanHost: boolean; json?: boolean }) => {
      const spec = await loadClusterSpecFile(opts.file);
      const result = await withProgress(io, Boolean(opts.json), (progress) =>
        removeEtcdMember(spec, name, {
          ...(opts.host ? { host: opts.host } : {}),
          ...(opts.keepData ? { keepData: true } : {}),
          cleanHost: opts.cleanHost,
          ...progress,
        }),
      );
      if (opts.json) {
        io.stdout(`${JSON.stringify({ removed: result.removed ?? null, hostCleanup: result.hostCleanup ?? null, members: result.deploy.members, health: result.deploy.health }, null, 2)}\n`);
        return;
      }
      io.stdout(result.removed ? `removed ${name} (member ${result.removed.id}) from the cluster\n` : `${name} is not a member of the cluster (nothing to remove)\n`);
      if (result.hostCleanup) {
        const c = result.hostCleanup;
        io.stdout(`${c.host}: ${c.wasRunning ? 'etcd stopped, ' : ''}${c.removedFiles.length} files and ${c.removedDirs.length} directories removed\n`);
      }
      if (result.deploy.health) io.stdout(`${formatHealth(result.deploy.health)}\n`);
    });

  program
    .command('reset')
    .description("tear the cluster down: stop etcd and delete etcd-kit's files on every member (the PKI dir stays)")
    .requiredOption('-f, --file <spec>', 'cluster spec (YAML or JSON)')
    .option('--purge', "also delete every member's data dir: the cluster's data (take a snapshot first)")
    .option('--yes', 'required: confirms the teardown')
    .option('--json', 'machine-readable output')
    .action(async (opts: { file: string; purge?: boolean; yes?: boolean; json?: boolean }) => {
      if (!opts.yes) {
        throw new EtcdKitError('INVALID_ARGUMENT', `reset stops etcd on every member${opts.purge ? ' and deletes its data' : ''}: add --yes to confirm`, { field: 'yes' });
      }
      const spec = await loadClusterSpecFile(opts.file);
      const result = await withProgress(io, Boolean(opts.json), (progress) => resetEtcdCluster(spec, { removeData: Boolean(opts.purge), ...progress }));
      if (opts.json) {
        io.stdout(`${JSON.stringify(result, null, 2)}\n`);
        return;
      }
      const rows = result.members.map((m) => [m.name, m.host, m.wasRunning ? 'yes' : 'no', String(m.removedFiles.length), m.removedDirs.join(' ') || '-']);
      io.stdout(`${table(['MEMBER', 'HOST', 'WAS RUNNING', 'FILES REMOVED', 'DIRS REMOVED'], rows)}\n`);
    });

  const pki = program.command('pki').description('the cluster PKI on this machine');
  pki
    .command('create')
    .description('create the PKI dir for a spec, or complete an existing one')
    .requiredOption('-f, --file <spec>', 'cluster spec (YAML or JSON)')
    .action(async (opts: { file: string }) => {
      const spec = await loadClusterSpecFile(opts.file);
      const outcome = await ensureClusterPki(spec);
      const issued = [...outcome.issuedMembers.map((m) => `member ${m}`), ...outcome.issuedClients.map((c) => `client ${c}`)];
      io.stdout(`${spec.pki.dir}: ${outcome.createdCa ? 'created CA; ' : ''}${issued.length ? `issued ${issued.join(', ')}` : 'nothing to issue'}\n`);
    });
  const printRotation = (result: RotateCaResult) => {
    const rows = result.steps.map((s) => [s.phase, s.member, s.restarted ? 'yes' : 'no', `${(s.durationMs / 1000).toFixed(1)} s`]);
    if (rows.length > 0) io.stdout(`${table(['PHASE', 'MEMBER', 'RESTARTED', 'TOOK'], rows)}\n`);
    const took = `${(result.durationMs / 1000).toFixed(1)} s`;
    io.stdout(
      result.finished
        ? `CA rotated in ${took}: the new CA ${result.state.newCaFingerprint256} is ca.crt; the old one is kept in ${result.state.retiredDir}\n`
        : `CA rotation stopped in phase ${result.state.phase} after ${took}; run the same command again to continue\n`,
    );
    io.stdout(`${formatHealth(result.health)}\n`);
  };
  pki
    .command('rotate-ca')
    .description('replace the cluster CA on the running cluster, one member at a time, without downtime (resumes one under way)')
    .requiredOption('-f, --file <spec>', 'cluster spec (YAML or JSON)')
    .addOption(new Option('--key-algorithm <alg>', 'key algorithm of the new CA and its certificates (default: the current CA\'s)').choices([...KEY_ALGORITHMS]))
    .addOption(new Option('--validity-days <days>', 'lifetime of the new CA in days').argParser(Number))
    .addOption(new Option('--stop-after <phase>', 'stop once every member completed this phase (restart clients that read their CA once, then run again)').choices(['trust-both', 'new-leaves']))
    .addOption(new Option('--health-timeout <ms>', 'longest wait for health, in ms').default(DEFAULT_HEALTH_TIMEOUT_MS).argParser(Number))
    .option('--json', 'machine-readable output (no progress view)')
    .action(async (opts: { file: string; keyAlgorithm?: KeyAlgorithm; validityDays?: number; stopAfter?: 'trust-both' | 'new-leaves'; healthTimeout: number; json?: boolean }) => {
      const spec = await loadClusterSpecFile(opts.file);
      const result = await withProgress(io, Boolean(opts.json), (progress) =>
        rotateEtcdCa(spec, {
          ...(opts.keyAlgorithm ? { keyAlgorithm: opts.keyAlgorithm as KeyAlgorithm } : {}),
          ...(opts.validityDays !== undefined ? { validityDays: opts.validityDays } : {}),
          ...(opts.stopAfter ? { stopAfter: opts.stopAfter } : {}),
          healthTimeoutMs: opts.healthTimeout,
          ...progress,
        }),
      );
      if (opts.json) io.stdout(`${JSON.stringify(result, null, 2)}\n`);
      else printRotation(result);
    });
  pki
    .command('inspect')
    .description('list every certificate with its SANs and expiry')
    .option('-d, --dir <dir>', 'PKI dir', './pki')
    .option('--json', 'machine-readable output')
    .option('--warn-days <days>', `exit ${EXIT.certExpiring} when a certificate expires within this many days`, Number)
    .action(async (opts: { dir: string; json?: boolean; warnDays?: number }) => {
      const { certificates: infos, rotation } = await inspectPkiDir(opts.dir);
      if (opts.json) io.stdout(`${JSON.stringify(infos, null, 2)}\n`);
      else {
        const usage = (i: PkiDirCertificate) =>
          i.role === 'ca' ? 'CA' : i.role === 'next-ca' ? 'CA (next)' : i.role === 'retired-ca' ? 'CA (retired)' : i.extendedKeyUsage.join('+');
        io.stdout(
          `${table(
            ['FILE', 'SUBJECT', 'SANS', 'USAGE', 'EXPIRES', 'DAYS LEFT'],
            infos.map((i) => [
              i.file,
              i.subject.commonName ?? '',
              [...i.sans.ip, ...i.sans.dns].join(',') || '-',
              usage(i),
              i.notAfter.toISOString().slice(0, 10),
              String(i.daysLeft),
            ]),
          )}\n`,
        );
        if (rotation && rotation.phase !== 'done') {
          const done = rotation.membersDone[rotation.phase];
          io.stdout(`CA rotation in progress since ${rotation.startedAt}: phase ${rotation.phase}, members done with it: ${done.join(', ') || 'none'}\n`);
        } else if (rotation) {
          io.stdout(`last CA rotation finished ${rotation.finishedAt}; the old CA is kept in ${rotation.retiredDir}\n`);
        }
      }
      // Retired CAs may expire without harm: they sign nothing any more.
      const live = infos.filter((i) => i.role !== 'retired-ca');
      if (opts.warnDays !== undefined && live.some((i) => i.daysLeft < opts.warnDays!)) setExit(EXIT.certExpiring);
    });
  return program;
}

const INVALID_INPUT: ReadonlySet<string> = new Set(['INVALID_SPEC', 'INVALID_ARGUMENT', 'VERSION_CHANGE_REFUSED', 'UNSAFE_CHANGE', 'CA_MISMATCH', 'CA_ROTATION_IN_PROGRESS', 'PKI_LOCKED', 'PKI_INVALID_INPUT', 'SNAPSHOT_INVALID', 'RENDER_INVALID_INPUT']);

/**
 * Exit code for an error: bad input (a refused version change or a PKI dir another operation holds
 * included: raised before any change) is 2, everything else 1.
 */
export function exitCodeFor(err: unknown): number {
  if (err instanceof EtcdKitError && INVALID_INPUT.has(err.code)) return EXIT.invalid;
  return EXIT.failed;
}

/**
 * Runs the CLI with `argv` (as in `process.argv`) and resolves to the exit code. Never calls
 * `process.exit`, so it can be embedded and tested.
 */
export async function runCli(argv: string[], io: CliIo = defaultIo): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.invalid;
    if (err instanceof EtcdKitError) {
      io.stderr(`error [${err.code}]${err.field ? ` at ${err.field}` : ''}: ${err.message}\n`);
    } else {
      io.stderr(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    }
    return exitCodeFor(err);
  }
}
