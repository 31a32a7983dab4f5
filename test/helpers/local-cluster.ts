/**
 * Test helper: a real etcd cluster of local processes (the machine's /usr/bin/etcd unless told otherwise),
 * configured only through etcd-kit's own PKI and env-file renderer, for the binary's own etcd version. Every test file gets its own temp dir and OS-assigned ports, so files never collide;
 * `close()` (and a process-exit safety net) leaves no etcd process and no temp dir behind.
 *
 * @example
 * ```ts
 * let cluster: LocalCluster;
 * beforeAll(async () => { cluster = await startLocalCluster({ keyAlgorithm: 'ecdsa-p256' }); });
 * afterAll(async () => { await cluster?.close(); });
 * it('is healthy', async () => { expect((await cluster.etcdctl(['endpoint', 'health'])).code).toBe(0); });
 * ```
 * @module
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClusterPki, createClusterPki, type KeyAlgorithm, pkiPaths, writePkiDir } from '../../src/pki/index.js';
import {
  type ClusterMember,
  clientUrl,
  type EtcdLayout,
  type EtcdSettings,
  parseEnvFile,
  peerUrl,
  type RenderEtcdEnvOptions,
  renderEtcdEnv,
  resolveLayout,
} from '../../src/render/index.js';
import { parseEtcdVersionOutput } from '../../src/remote/binary-version.js';

/** Path of the etcd server binary under test. */
export const ETCD_BIN = '/usr/bin/etcd';
/** Path of etcdctl. */
export const ETCDCTL_BIN = '/usr/bin/etcdctl';

/** The release an etcd binary reports (`etcd Version: 3.4.23` → `'3.4.23'`). Throws when it reports none. */
export function etcdBinaryVersion(etcdBin: string = ETCD_BIN): string {
  const out = execFileSync(etcdBin, ['--version'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  const version = parseEtcdVersionOutput(out);
  if (!version) throw new Error(`cannot read the version of ${etcdBin}: ${out}`);
  return version;
}

/** Options of {@link startLocalCluster}. */
export interface LocalClusterOptions {
  /** Number of members. Default: 3. */
  size?: number;
  /** Algorithm of every key in the cluster PKI. Default: the PKI module's default (`'ecdsa-p256'`). */
  keyAlgorithm?: KeyAlgorithm;
  /** Address of each member (loopback addresses; `::1` works too). Default: `127.0.0.1` for every member. */
  addresses?: string[];
  /**
   * etcd tunables passed to `renderEtcdEnv`: one object for every member, or a function of the member when members
   * need different values (e.g. each its own metrics listener on loopback: use `sparePort`, picked together with
   * the cluster's client and peer ports so it never collides with them). Default: etcd-kit's defaults.
   */
  settings?: EtcdSettings | ((member: LocalMemberSlot) => EtcdSettings);
  /** Also listen on `https://127.0.0.1:<clientPort>` (renderEtcdEnv's `listenLocalhost`). Default: false. */
  listenLocalhost?: boolean;
  /** Initial cluster token. Default: a random one per cluster. */
  token?: string;
  /** Member name prefix; members are `<prefix>1`, `<prefix>2`, ... Default: `'etcd'`. */
  namePrefix?: string;
  /** How long to wait for every member to report healthy, in ms. Default: 60000. */
  readyTimeoutMs?: number;
  /** etcd server binary every member runs. Default: {@link ETCD_BIN} (`/usr/bin/etcd`). */
  etcdBin?: string;
  /** etcdctl the helper checks health with. Default: {@link ETCDCTL_BIN} (`/usr/bin/etcdctl`). */
  etcdctlBin?: string;
  /**
   * etcd release the env files are rendered for (renderEtcdEnv's `etcdVersion`). Default: what `etcdBin --version`
   * reports, so the files always name what the binary reads.
   */
  etcdVersion?: string;
}

/** What a per-member `settings` function learns about the member it configures. */
export interface LocalMemberSlot {
  /** 0-based position in the cluster. */
  index: number;
  /** Member name. */
  name: string;
  /** Address the member listens on. */
  address: string;
  /** A free TCP port on `address`, distinct from every client and peer port of the cluster. */
  sparePort: number;
}

/** One running (or stopped) member of a {@link LocalCluster}. */
export interface LocalMember {
  /** Member name (`ETCD_NAME`). */
  name: string;
  /** Address the member listens and advertises on. */
  address: string;
  /** Client port (OS-assigned). */
  clientPort: number;
  /** Peer port (OS-assigned). */
  peerPort: number;
  /** `https://<address>:<clientPort>`. */
  clientUrl: string;
  /** `https://<address>:<peerPort>`. */
  peerUrl: string;
  /** Host paths of this member (data dir, env file, TLS files inside the cluster's PKI dir). */
  layout: EtcdLayout;
  /** The exact options the env file was rendered from: re-render and compare to prove no hand edits. */
  renderOptions: RenderEtcdEnvOptions;
  /** The rendered env file on disk; the process environment is parsed from it. */
  envFile: string;
  /** stdout + stderr of every run of this member, appended. */
  logFile: string;
  /** The current etcd process; undefined while stopped. */
  process: ChildProcess | undefined;
}

/** Result of one etcdctl run. */
export interface EtcdctlResult {
  /** Exit code (non-zero on failure; -1 when killed by the timeout). */
  code: number;
  stdout: string;
  stderr: string;
}

/** A running local cluster. */
export interface LocalCluster {
  /** Temp dir holding everything; removed by `close()`. */
  dir: string;
  /** The PKI the cluster runs on (written with `writePkiDir` to `pkiDir`). */
  pki: ClusterPki;
  /** Where `writePkiDir` wrote the PKI. */
  pkiDir: string;
  /** The members, in order. */
  members: LocalMember[];
  /** Client URLs of all members. */
  endpoints: string[];
  /** The etcd binary every member runs. */
  etcdBin: string;
  /** The release the env files were rendered for. */
  etcdVersion: string;
  /** The `admin` client certificate (clientAuth) and the CA, as PEM. */
  tls: { caPem: string; certPem: string; keyPem: string };
  /** The same admin credentials as files, for etcdctl. */
  tlsFiles: { caFile: string; certFile: string; keyFile: string };
  /** Looks a member up by name; throws for unknown names. */
  member(name: string): LocalMember;
  /** Runs etcdctl against all endpoints (or `opts.endpoints`) with the admin client certificate. */
  etcdctl(args: string[], opts?: { endpoints?: string[]; timeoutMs?: number }): Promise<EtcdctlResult>;
  /** Sends `signal` (default SIGKILL) to a member and waits until the process is gone. */
  kill(name: string, signal?: NodeJS.Signals): Promise<void>;
  /** Stops a member gracefully (SIGTERM, SIGKILL after 10 s) and waits for it to exit. */
  stop(name: string): Promise<void>;
  /** Starts a stopped member again from its env file and waits until it reports healthy. */
  start(name: string): Promise<void>;
  /** `stop` then `start`. */
  restart(name: string): Promise<void>;
  /** Waits until every named member (default: all running ones) passes `endpoint health`. */
  waitHealthy(names?: string[], timeoutMs?: number): Promise<void>;
  /** The member's log so far (stdout + stderr of every run). */
  readLog(name: string): Promise<string>;
  /** Every member's log so far, by member name. */
  readLogs(): Promise<Record<string, string>>;
  /** Kills every process and removes the temp dir. Safe to call twice. */
  close(): Promise<void>;
}

// Safety net for test runs that never reach close() (a failing beforeAll, a forgotten afterAll, a worker the
// runner kills hard, where no 'exit' handler runs): a tiny shell watchdog per cluster holds a pipe from this
// process. When this process dies for any reason the pipe closes, `read` returns, and the watchdog kills the
// etcd pids listed in the cluster's pid file (only if they still run an etcd binary) and removes the temp dir.
const WATCHDOG = `trap '' INT TERM HUP
read _ || true
for p in $(cat "$1/pids" 2>/dev/null); do
  grep -q etcd "/proc/$p/cmdline" 2>/dev/null && kill -9 "$p" 2>/dev/null
done
rm -rf "$1"`;

function startWatchdog(dir: string): ChildProcess {
  const dog = spawn('/bin/sh', ['-c', WATCHDOG, 'etcd-kit-watchdog', dir], { stdio: ['pipe', 'ignore', 'ignore'] });
  // Neither the watchdog nor its pipe may keep the test process alive.
  dog.unref();
  (dog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return dog;
}

/** Runs etcdctl (API v3, `etcdctlBin`, default {@link ETCDCTL_BIN}) with exactly the given arguments. Never throws for a non-zero exit. */
export function runEtcdctl(args: string[], timeoutMs = 20_000, etcdctlBin = ETCDCTL_BIN): Promise<EtcdctlResult> {
  return new Promise((resolve) => {
    execFile(
      etcdctlBin,
      args,
      { timeout: timeoutMs, killSignal: 'SIGKILL', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ETCDCTL_API: '3' } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/**
 * Asks the OS for free TCP ports: one per entry of `hostsPerPort`, each free on every host listed for it,
 * all distinct. Ports are released before returning, so use them promptly.
 */
export async function freePorts(hostsPerPort: string[][]): Promise<number[]> {
  const held: ReturnType<typeof createServer>[] = [];
  const listen = (host: string, port: number) =>
    new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen({ host, port, exclusive: true }, () => resolve(srv));
    });
  const ports: number[] = [];
  try {
    for (const hosts of hostsPerPort) {
      for (let attempt = 0; ; attempt++) {
        const first = await listen(hosts[0]!, 0);
        const port = (first.address() as { port: number }).port;
        const extra: ReturnType<typeof createServer>[] = [];
        try {
          for (const h of hosts.slice(1)) extra.push(await listen(h, port));
          // Held open until all are picked, so one cluster never gets the same port twice.
          held.push(first, ...extra);
          ports.push(port);
          break;
        } catch (err) {
          for (const s of [first, ...extra]) s.close();
          if (attempt >= 20) throw err;
        }
      }
    }
  } finally {
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  }
  return ports;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function exited(child: ChildProcess): boolean {
  return child.pid === undefined || child.exitCode !== null || child.signalCode !== null;
}

function waitExit(child: ChildProcess): Promise<void> {
  if (exited(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Starts a local etcd cluster: creates the PKI with `createClusterPki` (member hosts = the member's address)
 * and writes it with `writePkiDir`, renders every member's env file with `renderEtcdEnv` for `etcdVersion`, launches
 * all members concurrently from `etcdBin` with the environment parsed back from those files, and resolves once
 * `etcdctl endpoint health` with the admin client certificate passes on every member. On any failure it
 * cleans up and rejects with the tail of the member logs.
 */
export async function startLocalCluster(opts: LocalClusterOptions = {}): Promise<LocalCluster> {
  const size = opts.size ?? 3;
  const addresses = opts.addresses ?? Array.from({ length: size }, () => '127.0.0.1');
  if (addresses.length !== size) throw new Error(`addresses has ${addresses.length} entries, size is ${size}`);
  const listenLocalhost = opts.listenLocalhost ?? false;
  const namePrefix = opts.namePrefix ?? 'etcd';
  const readyTimeoutMs = opts.readyTimeoutMs ?? 60_000;
  const token = opts.token ?? `local-${Math.random().toString(36).slice(2, 10)}`;
  const etcdBin = opts.etcdBin ?? ETCD_BIN;
  const etcdctlBin = opts.etcdctlBin ?? ETCDCTL_BIN;
  const etcdVersion = opts.etcdVersion ?? etcdBinaryVersion(etcdBin);
  const given = opts.settings;
  const settingsFor = typeof given === 'function' ? given : given ? () => given : undefined;

  const dir = await mkdtemp(join(tmpdir(), 'etcd-kit-cluster-'));
  const watchdog = startWatchdog(dir);
  const pidFile = join(dir, 'pids');
  const members: LocalMember[] = [];
  let closed = false;

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    // Normal path: we clean up ourselves; the watchdog must not act on pids that may be reused later.
    watchdog.kill('SIGKILL');
    await Promise.all(
      members.map(async (m) => {
        const child = m.process;
        if (!child) return;
        if (!exited(child)) child.kill('SIGKILL');
        await waitExit(child);
        m.process = undefined;
      }),
    );
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const names = addresses.map((_, i) => `${namePrefix}${i + 1}`);
    const portHosts = addresses.flatMap((a) => [
      listenLocalhost && a !== '127.0.0.1' ? [a, '127.0.0.1'] : [a], // client port
      [a], // peer port
      [a], // spare port (per-member settings)
    ]);
    const ports = await freePorts(portHosts);
    const clusterMembers: ClusterMember[] = names.map((name, i) => ({
      name,
      address: addresses[i]!,
      clientPort: ports[3 * i]!,
      peerPort: ports[3 * i + 1]!,
    }));
    const slot = (m: ClusterMember): LocalMemberSlot => {
      const index = clusterMembers.indexOf(m);
      return { index, name: m.name, address: m.address, sparePort: ports[3 * index + 2]! };
    };

    const pki = await createClusterPki({
      members: clusterMembers.map((m) => ({ name: m.name, hosts: [m.address] })),
      ...(opts.keyAlgorithm ? { keyAlgorithm: opts.keyAlgorithm } : {}),
    });
    const pkiDir = join(dir, 'pki');
    await writePkiDir(pkiDir, pki);
    const paths = pkiPaths(pkiDir);
    const admin = pki.clients['admin'];
    if (!admin) throw new Error('createClusterPki returned no admin client certificate');

    for (const m of clusterMembers) {
      const home = join(dir, 'members', m.name);
      const own = paths.member(m.name);
      const layout: Partial<EtcdLayout> = {
        prefix: home,
        dataDir: join(home, 'data'),
        caFile: paths.caCert,
        serverCertFile: own.serverCert,
        serverKeyFile: own.serverKey,
        peerCertFile: own.peerCert,
        peerKeyFile: own.peerKey,
      };
      const renderOptions: RenderEtcdEnvOptions = {
        member: m.name,
        members: clusterMembers,
        token,
        state: 'new',
        layout,
        listenLocalhost,
        etcdVersion,
        ...(settingsFor ? { settings: settingsFor(slot(m)) } : {}),
      };
      const text = renderEtcdEnv(renderOptions);
      const envFile = join(home, 'cfg', 'etcd.env');
      await mkdir(join(home, 'cfg'), { recursive: true });
      await writeFile(envFile, text, { mode: 0o600 });
      members.push({
        name: m.name,
        address: m.address,
        clientPort: m.clientPort!,
        peerPort: m.peerPort!,
        clientUrl: clientUrl(m),
        peerUrl: peerUrl(m),
        layout: resolveLayout(layout),
        renderOptions,
        envFile,
        logFile: join(home, 'etcd.log'),
        process: undefined,
      });
    }
    const tlsFiles = { caFile: paths.caCert, certFile: paths.client('admin').cert, keyFile: paths.client('admin').key };
    const endpoints = members.map((m) => m.clientUrl);
    const byName = (name: string): LocalMember => {
      const m = members.find((x) => x.name === name);
      if (!m) throw new Error(`no member '${name}' (have ${members.map((x) => x.name).join(', ')})`);
      return m;
    };

    const launch = async (m: LocalMember): Promise<void> => {
      if (closed) throw new Error('cluster is closed');
      if (m.process && !exited(m.process)) throw new Error(`member ${m.name} is already running`);
      // Read back from disk: the process runs on exactly what the file says.
      const env = parseEnvFile(await readFile(m.envFile, 'utf8'));
      const fd = openSync(m.logFile, 'a');
      try {
        const child = spawn(etcdBin, [], {
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
          stdio: ['ignore', fd, fd],
        });
        // A spawn failure surfaces through waitHealthy as "not running"; keep it from crashing the worker.
        child.once('error', () => {});
        m.process = child;
        if (child.pid !== undefined) await appendFile(pidFile, `${child.pid}\n`);
      } finally {
        closeSync(fd);
      }
    };

    const logTails = async (targets: LocalMember[]): Promise<string> => {
      const parts = await Promise.all(
        targets.map(async (m) => {
          const log = await readFile(m.logFile, 'utf8').catch(() => '');
          return `--- ${m.name} (${m.process && exited(m.process) ? `exited ${m.process.exitCode ?? m.process.signalCode}` : 'running'}) ---\n${log.split('\n').slice(-15).join('\n')}`;
        }),
      );
      return parts.join('\n');
    };

    const etcdctl = (args: string[], o: { endpoints?: string[]; timeoutMs?: number } = {}): Promise<EtcdctlResult> =>
      runEtcdctl(
        [
          `--endpoints=${(o.endpoints ?? endpoints).join(',')}`,
          `--cacert=${tlsFiles.caFile}`,
          `--cert=${tlsFiles.certFile}`,
          `--key=${tlsFiles.keyFile}`,
          ...args,
        ],
        o.timeoutMs,
        etcdctlBin,
      );

    const waitHealthy = async (names?: string[], timeoutMs = readyTimeoutMs): Promise<void> => {
      const targets = names ? names.map(byName) : members.filter((m) => m.process && !exited(m.process));
      const deadline = Date.now() + timeoutMs;
      let last: EtcdctlResult | undefined;
      for (;;) {
        const dead = targets.filter((m) => !m.process || exited(m.process));
        if (dead.length > 0) {
          throw new Error(`etcd member(s) ${dead.map((m) => m.name).join(', ')} not running\n${await logTails(dead)}`);
        }
        last = await etcdctl(['endpoint', 'health', '--command-timeout=2s'], {
          endpoints: targets.map((m) => m.clientUrl),
          timeoutMs: 10_000,
        });
        if (last.code === 0) return;
        if (Date.now() > deadline) {
          throw new Error(`cluster not healthy after ${timeoutMs} ms: ${last.stderr.trim()}\n${await logTails(targets)}`);
        }
        await sleep(250);
      }
    };

    const stopMember = async (name: string, signal: NodeJS.Signals, graceMs: number): Promise<void> => {
      const m = byName(name);
      const child = m.process;
      if (!child) return;
      if (!exited(child)) child.kill(signal);
      const timer = setTimeout(() => {
        if (!exited(child)) child.kill('SIGKILL');
      }, graceMs);
      await waitExit(child);
      clearTimeout(timer);
      m.process = undefined;
    };

    await Promise.all(members.map(launch));
    await waitHealthy(undefined, readyTimeoutMs);

    return {
      dir,
      pki,
      pkiDir,
      members,
      endpoints,
      etcdBin,
      etcdVersion,
      tls: { caPem: pki.ca.certPem, certPem: admin.certPem, keyPem: admin.keyPem },
      tlsFiles,
      member: byName,
      etcdctl,
      kill: (name, signal = 'SIGKILL') => stopMember(name, signal, 10_000),
      stop: (name) => stopMember(name, 'SIGTERM', 10_000),
      start: async (name) => {
        await launch(byName(name));
        await waitHealthy([name]);
      },
      restart: async (name) => {
        await stopMember(name, 'SIGTERM', 10_000);
        await launch(byName(name));
        await waitHealthy([name]);
      },
      waitHealthy,
      readLog: (name) => readFile(byName(name).logFile, 'utf8'),
      readLogs: async () => Object.fromEntries(await Promise.all(members.map(async (m) => [m.name, await readFile(m.logFile, 'utf8')] as const))),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
