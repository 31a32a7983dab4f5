import { join } from 'node:path';

/** Root of every testbed's runtime state: one directory per testbed id. */
export const RUN_DIR = '/run/etcd-kit-testbed';

/** Prefix of every kernel object (links, namespaces, cgroups) a testbed creates. */
export const OBJECT_PREFIX = 'ekt-';

/** Names and addresses of one host, all derived from (testbed id, host number). */
export interface HostLayout {
  /** Host name inside the container and in the API: `node<n>`. */
  name: string;
  /** 1-based host number. */
  n: number;
  /** Network namespace, root-side veth, cgroup and nspawn machine name: `ekt-<id>-<n>`. */
  object: string;
  /** IPv4 address: 10.99.<id>.<10+n>. */
  ip: string;
  /** MAC of the host's eth0 (fixed, so static neighbour entries can be written before boot). */
  mac: string;
  /** Directory holding the host's overlay (upper, work) and its merged root. */
  diskDir: string;
  /** The merged root filesystem the container boots from. */
  rootDir: string;
  /** Console output of the host's systemd-nspawn. */
  consoleLog: string;
}

/** Names and addresses of one testbed. */
export interface TestbedLayout {
  /** Testbed id (1–254). */
  id: number;
  /** Runtime directory: state file, client key, known_hosts, console logs. */
  dir: string;
  /** tmpfs mount holding every host's overlay upper layer. */
  disksDir: string;
  /** JSON state file ({@link TestbedState}). */
  stateFile: string;
  /** Client private key (OpenSSH ed25519, no passphrase) accepted for root, deployer and nosudo. */
  keyPath: string;
  /** known_hosts with every host's key. */
  knownHostsPath: string;
  /** Bridge in the root namespace. */
  bridge: string;
  /** Bridge MAC. */
  bridgeMac: string;
  /** The controller's address on the bridge: 10.99.<id>.1. */
  gatewayIp: string;
  /** Subnet in CIDR form. */
  subnet: string;
  /** An address in the subnet no host ever has. */
  unusedIp: string;
}

const mac = (id: number, last: number): string =>
  `02:65:6b:${id.toString(16).padStart(2, '0')}:00:${last.toString(16).padStart(2, '0')}`;

/** The layout of testbed `id`. */
export function testbedLayout(id: number): TestbedLayout {
  const dir = join(RUN_DIR, String(id));
  return {
    id,
    dir,
    disksDir: join(dir, 'disks'),
    stateFile: join(dir, 'state.json'),
    keyPath: join(dir, 'id_ed25519'),
    knownHostsPath: join(dir, 'known_hosts'),
    bridge: `${OBJECT_PREFIX}br${id}`,
    bridgeMac: mac(id, 1),
    gatewayIp: `10.99.${id}.1`,
    subnet: `10.99.${id}.0/24`,
    unusedIp: `10.99.${id}.254`,
  };
}

/** The layout of host `n` (1-based) of testbed `id`. */
export function hostLayout(id: number, n: number): HostLayout {
  const diskDir = join(testbedLayout(id).disksDir, `node${n}`);
  return {
    name: `node${n}`,
    n,
    object: `${OBJECT_PREFIX}${id}-${n}`,
    ip: `10.99.${id}.${10 + n}`,
    mac: mac(id, 10 + n),
    diskDir,
    rootDir: join(diskDir, 'root'),
    consoleLog: join(testbedLayout(id).dir, `node${n}.console.log`),
  };
}

/** Testbed id encoded in a kernel object name (`ekt-br7`, `ekt-7-2`), or undefined if it is not ours. */
export function idOfObject(name: string): number | undefined {
  const m = /^ekt-(?:br(\d+)|(\d+)-\d+)$/.exec(name);
  return m ? Number(m[1] ?? m[2]) : undefined;
}
