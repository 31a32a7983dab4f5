/**
 * Test support for the etcd client tests, on top of test/helpers/local-cluster.ts: a plain TCP forwarder
 * (to reach a member through an address its certificate does not name), a member process that joins a
 * running cluster (for the learner test), and small lookups.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import type { ClusterHealth, EtcdMember } from '../../src/etcd/index.js';
import { pkiPaths, signPeerCert, signServerCert } from '../../src/pki/index.js';
import { type ClusterMember, clientUrl, parseEnvFile, peerUrl, renderEtcdEnv } from '../../src/render/index.js';
import { freePorts, type LocalCluster } from '../helpers/local-cluster.js';

/** A TCP forwarder listening on `host` (OS-assigned port) that pipes every connection to `target`. */
export interface TcpForwarder {
  url: string;
  close(): Promise<void>;
}

/** Forwards raw TCP (TLS passes through untouched) from `listenHost` to `targetHost:targetPort`. */
export async function startTcpForwarder(listenHost: string, targetHost: string, targetPort: number): Promise<TcpForwarder> {
  const sockets = new Set<{ destroy(): void }>();
  const server: Server = createServer((inbound) => {
    const outbound = tcpConnect(targetPort, targetHost);
    sockets.add(inbound);
    sockets.add(outbound);
    inbound.pipe(outbound).pipe(inbound);
    const drop = (): void => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('error', drop).on('close', drop);
    outbound.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, listenHost, () => resolve());
  });
  const { port } = server.address() as { port: number };
  return {
    url: `https://${listenHost}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A member prepared to join a running {@link LocalCluster}; `start` launches it with state `existing`. */
export interface ExtraMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  /** Renders its env file (state `existing`, given the membership after the add) and launches etcd. */
  start(members: EtcdMember[]): Promise<void>;
  process(): ChildProcess | undefined;
  /** Kills the process (SIGKILL) and waits for it. */
  kill(): Promise<void>;
}

/**
 * Prepares one more member for `cluster`: free ports, server and peer certificates from the cluster's CA
 * (signServerCert / signPeerCert), TLS files beside the cluster's. Its files live in the cluster's temp
 * dir, so `cluster.close()` removes them; `kill()` must be called for the process.
 */
export async function prepareExtraMember(cluster: LocalCluster, name: string): Promise<ExtraMember> {
  const address = '127.0.0.1';
  const [clientPort, peerPort] = await freePorts([[address], [address]]);
  const self: ClusterMember = { name, address, clientPort: clientPort!, peerPort: peerPort! };
  const home = join(cluster.dir, 'extra', name);
  const tlsDir = join(home, 'tls');
  await mkdir(tlsDir, { recursive: true, mode: 0o700 });
  const [server, peer] = await Promise.all([
    signServerCert(cluster.pki.ca, { commonName: name, hosts: [address, 'localhost'] }),
    signPeerCert(cluster.pki.ca, { commonName: name, hosts: [address, 'localhost'] }),
  ]);
  const files = {
    serverCertFile: join(tlsDir, 'server.crt'),
    serverKeyFile: join(tlsDir, 'server.key'),
    peerCertFile: join(tlsDir, 'peer.crt'),
    peerKeyFile: join(tlsDir, 'peer.key'),
  };
  await Promise.all([
    writeFile(files.serverCertFile, server.certPem),
    writeFile(files.serverKeyFile, server.keyPem, { mode: 0o600 }),
    writeFile(files.peerCertFile, peer.certPem),
    writeFile(files.peerKeyFile, peer.keyPem, { mode: 0o600 }),
  ]);
  const token = cluster.members[0]!.renderOptions.token;
  let child: ChildProcess | undefined;

  return {
    name,
    clientUrl: clientUrl(self),
    peerUrl: peerUrl(self),
    process: () => child,
    async start(members) {
      // The running members as the renderer knows them, plus this one (named before it has started).
      const clusterMembers: ClusterMember[] = members.map((m) => {
        if (m.peerUrls.includes(peerUrl(self))) return self;
        const known = cluster.members.find((lm) => lm.name === m.name);
        if (!known) throw new Error(`unknown member ${m.name}`);
        return { name: known.name, address: known.address, clientPort: known.clientPort, peerPort: known.peerPort };
      });
      const text = renderEtcdEnv({
        member: name,
        members: clusterMembers,
        token,
        state: 'existing',
        etcdVersion: cluster.etcdVersion,
        listenLocalhost: false,
        layout: { prefix: home, dataDir: join(home, 'data'), caFile: pkiPaths(cluster.pkiDir).caCert, ...files },
      });
      const envFile = join(home, 'etcd.env');
      await writeFile(envFile, text, { mode: 0o600 });
      const env = parseEnvFile(await readFile(envFile, 'utf8'));
      const fd = openSync(join(home, 'etcd.log'), 'a');
      try {
        child = spawn(cluster.etcdBin, [], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', fd, fd] });
        child.once('error', () => {});
      } finally {
        closeSync(fd);
      }
    },
    async kill() {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      c.kill('SIGKILL');
      await gone;
    },
  };
}

/** The member name behind `endpoint` according to the cluster helper. */
export function nameOf(cluster: LocalCluster, endpoint: string): string {
  const m = cluster.members.find((x) => x.clientUrl === endpoint);
  if (!m) throw new Error(`no member at ${endpoint}`);
  return m.name;
}

/** Names of the members that are not the leader in `health`. */
export function followers(cluster: LocalCluster, health: ClusterHealth): string[] {
  if (!health.leader) throw new Error('no leader in health picture');
  return cluster.members.map((m) => m.name).filter((n) => n !== health.leader?.name);
}

/** Awaits `p` and returns what it rejected with; fails the test if it resolved. */
export async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}
