/**
 * Reads a cluster spec from a YAML or JSON file. Relative paths inside it are resolved against the
 * file's own directory, so `etcd-kit deploy -f ops/cluster.yaml` works from anywhere.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { EtcdKitError } from '../errors.js';
import { type ClusterSpec, type ResolveSpecOptions, resolveClusterSpec } from './resolve-spec.js';

/**
 * Loads and validates a cluster spec file (`.yaml`, `.yml` or `.json`; YAML is a superset of JSON).
 * Throws `INVALID_SPEC` for unreadable files, syntax errors (with line numbers) and every spec problem.
 *
 * @example
 * ```ts
 * const spec = await loadClusterSpecFile('cluster.yaml');
 * const result = await deployEtcdCluster(spec);
 * ```
 */
export async function loadClusterSpecFile(path: string, options: Omit<ResolveSpecOptions, 'baseDir'> = {}): Promise<ClusterSpec> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new EtcdKitError('INVALID_SPEC', `cannot read spec file ${file}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`, {
      field: '(file)',
      cause,
    });
  }
  let data: unknown;
  try {
    data = parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (cause) {
    throw new EtcdKitError('INVALID_SPEC', `${file} is not valid YAML/JSON: ${(cause as Error).message.split('\n')[0]}`, {
      field: '(file)',
      cause,
    });
  }
  return resolveClusterSpec(data, { ...options, baseDir: dirname(file) });
}

/**
 * A commented example spec, what `etcd-kit init` writes. Its first line points editors (the YAML language server
 * of VS Code, JetBrains, Neovim...) at the JSON Schema the package ships, `etcd-kit/cluster-spec.schema.json`, as
 * installed in the project's node_modules; the path is relative to the spec file.
 */
export const EXAMPLE_SPEC_YAML = `# yaml-language-server: $schema=./node_modules/etcd-kit/schema/cluster-spec.schema.json
# etcd-kit cluster spec. Paths are relative to this file.
# Docs: every field is optional unless marked "required".

# Cluster name; also the initial cluster token. Default: derived from the CA, stable across runs.
# name: k8s-etcd

# required: the members. An odd count (3 or 5) tolerates (n-1)/2 failures.
members:
  - name: etcd01
    host: 192.168.35.128      # SSH host; also the address etcd listens on and advertises
    # address: 10.0.0.11      # advertise a different address than the SSH host
    # extraSans: [etcd01.example.com]
  - name: etcd02
    host: 192.168.35.195
  - name: etcd03
    host: 192.168.35.138

ssh:
  user: root                  # or a user with passwordless sudo
  privateKeyPath: ~/.ssh/id_ed25519
  # knownHostsPath: ~/.ssh/known_hosts   # host keys are always verified
  # hostKeyFingerprints: { etcd01: "SHA256:..." }   # or pin them (ssh-keygen -lf)
  # acceptUnknownHostKeys: false

# required: where the etcd binaries come from (one of):
etcd:
  tarball: ./etcd-v3.6.14-linux-amd64.tar.gz
  # url: https://github.com/etcd-io/etcd/releases/download/v3.6.14/etcd-v3.6.14-linux-amd64.tar.gz
  # sha256: <64 hex characters>      # required with url; checked before any host is touched
  # binDir: /usr/local/bin           # a directory holding etcd and etcdctl

pki:
  dir: ./pki                  # created when absent, reused when present (the CA key stays here)
  # keyAlgorithm: ecdsa-p256  # ecdsa-p384, rsa-2048, rsa-3072, rsa-4096
  # clients: [admin, kube-apiserver]
  # renewBeforeDays: 30       # re-issue leaf certificates this close to their end (same CA)

# layout:
#   prefix: /opt/etcd         # bin/, cfg/, ssl/ below it
#   dataDir: /var/lib/etcd

# ports: { client: 2379, peer: 2380 }

# settings:                   # etcd tunables (same on every member)
#   heartbeatMs: 100
#   electionMs: 1000
#   quotaBackendBytes: 2147483648
#   autoCompactionRetention: 1h
#   snapshotCount: 10000
`;
