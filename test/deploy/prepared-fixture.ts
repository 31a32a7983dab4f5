// A prepared 3-member deploy for the pure plan tests: a stand-in etcd (an ELF header is all prepareBinaries
// checks, no 20 MB read), the files the spec checks exist, and a PKI in memory as if it existed already.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PreparedDeploy, prepareBundles, resolveInput } from '../../src/deploy/prepare.js';
import type { MemberInspection, UnitFacts } from '../../src/remote/index.js';

/** What {@link preparedThreeMembers} made. */
export interface PreparedFixture {
  prepared: PreparedDeploy;
  /** Deletes the temp dir. */
  cleanup(): Promise<void>;
}

/** Members etcd01..03 at 10.0.0.11..13, binaries of `etcdVersion`; nothing connects anywhere. */
export async function preparedThreeMembers(etcdVersion: string): Promise<PreparedFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'etcd-kit-prepared-'));
  const bin = join(dir, 'bin');
  await mkdir(bin);
  const elf = Buffer.alloc(64);
  elf.writeUInt32BE(0x7f454c46, 0);
  elf[5] = 1;
  elf.writeUInt16LE(0x3e, 18);
  await writeFile(join(bin, 'etcd'), elf);
  await writeFile(join(bin, 'etcdctl'), elf);
  await writeFile(join(dir, 'id'), 'unused', { mode: 0o600 });
  await writeFile(join(dir, 'known_hosts'), '');
  const input = await resolveInput(
    {
      members: ['11', '12', '13'].map((n, i) => ({ name: `etcd0${i + 1}`, host: `10.0.0.${n}` })),
      ssh: { privateKeyPath: join(dir, 'id'), knownHostsPath: join(dir, 'known_hosts') },
      etcd: { binDir: bin },
      pki: { dir: join(dir, 'pki') },
    },
    {},
  );
  const fresh = await prepareBundles({ ...input, binaries: { ...input.binaries, version: etcdVersion } }, {}, false);
  return {
    prepared: { ...fresh, pki: { ...fresh.pki, createdCa: false, issuedMembers: [], issuedClients: [] } },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** What a host reports besides its files in {@link inspectionInPlace}. */
export interface HostState {
  /** The etcd unit. */
  unit: UnitFacts;
  /** `<dataDir>/member` exists. Default: true. */
  memberData?: boolean;
  /** Version of the etcd binary on disk. */
  etcdVersion: string;
  /** etcd's last fatal journal lines. Default: none. */
  etcdFatal?: string[];
}

/** Member `i`'s host with its bundle exactly in place (every file the same, nothing pending) and `state`. */
export function inspectionInPlace(prepared: PreparedDeploy, i: number, state: HostState): MemberInspection {
  const bundle = prepared.members[i]!.steady;
  return {
    host: prepared.members[i]!.spec.ssh.host,
    arch: 'x86_64',
    systemd: true,
    userExists: true,
    files: bundle.files.map((f) => ({
      role: f.role,
      path: f.path,
      status: 'same',
      expectedSha256: f.sha256,
      actualSha256: f.sha256,
      metadataOk: true,
      ...(f.role === 'env' ? { hostContent: f.data.toString('utf8') } : {}),
    })),
    unit: state.unit,
    facts: {
      memberData: state.memberData ?? true,
      etcdVersion: state.etcdVersion,
      etcdFatal: state.etcdFatal ?? [],
      unit: state.unit,
      links: new Map<string, string>(),
      versionDirs: [] as string[],
      hashes: new Map(bundle.files.map((f) => [f.path, f.sha256])),
    } as MemberInspection['facts'],
    pending: { changedFiles: [], service: 'none', restartCauses: [], hostChanges: [], firewallOpens: [], firewallPersistent: true },
  };
}
