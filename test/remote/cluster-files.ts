/**
 * Test helper: the per-member files of a cluster, made only with etcd-kit's own PKI and renderers.
 * @module
 */
import { type ClusterPki, createClusterPki } from '../../src/pki/index.js';
import {
  type ClusterMember,
  type EtcdLayout,
  type EtcdSettings,
  renderEtcdctlEnv,
  renderEtcdEnv,
  renderSystemdUnit,
} from '../../src/render/index.js';
import type { MemberFiles, SshTarget } from '../../src/remote/index.js';
import type { Testbed } from '../testbed/index.js';

/** Inputs of {@link renderMemberFiles}. */
export interface ClusterFilesOptions {
  /** The members (name + IP address). */
  members: ClusterMember[];
  /** Cluster token. Default: `etcd-kit-remote-test`. */
  token?: string;
  /** Layout. Default: the default layout. */
  layout?: Partial<EtcdLayout>;
  /** Settings for renderEtcdEnv. */
  settings?: EtcdSettings;
  /** Release the files are for: pass the version of the binaries a test runs (env names differ by release). Default: renderEtcdEnv's. */
  etcdVersion?: string;
}

/** Creates the PKI (ECDSA P-256: fast) for `members` plus an `admin` client. */
export function createTestPki(members: ClusterMember[]): Promise<ClusterPki> {
  return createClusterPki({
    members: members.map((m) => ({ name: m.name, hosts: [m.address] })),
    keyAlgorithm: 'ecdsa-p256',
    clients: ['admin'],
  });
}

/** Renders every member's {@link MemberFiles} from a PKI. */
export function renderMemberFiles(pki: ClusterPki, options: ClusterFilesOptions): Record<string, MemberFiles> {
  const out: Record<string, MemberFiles> = {};
  const layout = options.layout ?? {};
  for (const m of options.members) {
    const certs = pki.members[m.name];
    if (!certs) throw new Error(`no certificates for ${m.name}`);
    out[m.name] = {
      caCert: pki.ca.certPem,
      serverCert: certs.server.certPem,
      serverKey: certs.server.keyPem,
      peerCert: certs.peer.certPem,
      peerKey: certs.peer.keyPem,
      env: renderEtcdEnv({
        member: m.name,
        members: options.members,
        token: options.token ?? 'etcd-kit-remote-test',
        layout,
        ...(options.etcdVersion ? { etcdVersion: options.etcdVersion } : {}),
        ...(options.settings ? { settings: options.settings } : {}),
      }),
      unit: renderSystemdUnit({ layout, ...(options.etcdVersion ? { etcdVersion: options.etcdVersion } : {}) }),
      etcdctlEnv: renderEtcdctlEnv({ endpoints: [`https://${m.address}:2379`], layout }),
    };
  }
  return out;
}

/** How the remote tests reach testbed host `i`: its IP, the testbed's key and known_hosts, a generous timeout. */
export function testbedTarget(tb: Testbed, i: number, extra: Partial<SshTarget> = {}): SshTarget {
  const host = tb.hosts[i];
  if (!host) throw new Error(`no host ${i}`);
  return { host: host.ip, privateKeyPath: tb.rootKeyPath, knownHostsPath: tb.knownHostsPath, readyTimeoutMs: 15_000, ...extra };
}
