// A "host" for tests of what operations refuse before touching any host: a local TCP port that counts
// connections and drops them (no SSH server: an operation that got that far fails with an SSH error), and
// one-member specs pointing at it, each with a PKI dir of its own.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { type ClusterSpec, resolveClusterSpec } from '../../src/deploy/resolve-spec.js';

/** A running counting host. */
export interface CountingHost {
  /** Connections it has seen so far. */
  readonly connections: number;
  /** Deploy options keeping downloads inside the host's temp dir. */
  options: { downloadCacheDir: string };
  /** A one-member spec (`etcd01` on the counting port; `more` members on it too), with a fresh PKI dir. */
  spec(more?: string[]): ClusterSpec;
  /** Stops listening and removes the temp dir. */
  close(): Promise<void>;
}

/** Starts a {@link CountingHost}. */
export async function startCountingHost(): Promise<CountingHost> {
  const dir = mkdtempSync(join(tmpdir(), 'etcd-kit-counting-'));
  const key = join(dir, 'id_ed25519');
  const binDir = join(dir, 'bin');
  writeFileSync(key, ssh2.utils.generateKeyPairSync('ed25519').private, { mode: 0o600 });
  writeFileSync(join(dir, 'known_hosts'), '');
  mkdirSync(binDir);
  // An ELF header is all the controller checks of a binary; the version would come from the first host.
  const elf = Buffer.alloc(64);
  elf.write('\x7fELF', 0, 'latin1');
  elf[4] = 2; // 64-bit
  elf[5] = 1; // little-endian
  elf.writeUInt16LE(0x3e, 18); // x86-64
  writeFileSync(join(binDir, 'etcd'), elf);
  writeFileSync(join(binDir, 'etcdctl'), elf);
  let connections = 0;
  let counter = 0;
  const server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    get connections() {
      return connections;
    },
    options: { downloadCacheDir: join(dir, 'cache', 'downloads') },
    spec(more = []) {
      return resolveClusterSpec(
        {
          members: ['etcd01', ...more].map((name, i) => ({ name, host: `127.0.0.${i + 1}` })),
          ssh: { privateKeyPath: key, port, acceptUnknownHostKeys: true, knownHostsPath: join(dir, 'known_hosts'), agent: false, readyTimeoutMs: 3000 },
          etcd: { binDir },
          pki: { dir: join(dir, `pki-${++counter}`) },
        },
        { env: { HOME: dir }, baseDir: dir },
      );
    },
    async close() {
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
