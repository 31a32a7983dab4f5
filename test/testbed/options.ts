import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Options of {@link ensureRootfs}. */
export interface RootfsOptions {
  /** Where the built root filesystem is cached. Default: env `ETCD_KIT_TESTBED_CACHE`, else `/var/cache/etcd-kit-testbed`. */
  cacheDir?: string;
  /** Debian mirror for debootstrap. Default: env `ETCD_KIT_TESTBED_MIRROR`, else the bookworm mirror in this machine's apt sources, else `http://deb.debian.org/debian`. */
  mirror?: string;
  /** Receives progress lines (debootstrap output, timings). Default: discard. */
  onLog?: (line: string) => void;
}

/** Options of {@link startTestbed}. */
export interface TestbedOptions extends RootfsOptions {
  /** Number of hosts, 1–50. Default: 3. */
  hosts?: number;
  /**
   * Instance number, 1–254: the testbed uses subnet 10.99.`id`.0/24, bridge `ekt-br<id>`, namespaces
   * `ekt-<id>-<n>`. Default: the lowest id no live testbed holds (so parallel test runs never collide).
   * An explicit id held by a live testbed is an error; leftovers of a crashed run with that id are removed.
   */
  id?: number;
  /** Ms to wait for every host's sshd to send its banner. Default: 60000. */
  bootTimeoutMs?: number;
  /**
   * Keep the testbed after this process exits (the CLI's `up`); remove it with `destroy()`, the CLI's `down`,
   * or `cleanupStaleTestbeds({ includePersistent: true })`. Default: false (removed at process exit).
   */
  persistent?: boolean;
}

/** {@link RootfsOptions} with every default filled in. */
export interface ResolvedRootfsOptions {
  cacheDir: string;
  mirror: string;
  onLog: (line: string) => void;
}

/** {@link TestbedOptions} with every default filled in (`id` stays open: it is allocated under a lock). */
export interface ResolvedTestbedOptions extends ResolvedRootfsOptions {
  hosts: number;
  id: number | undefined;
  bootTimeoutMs: number;
  persistent: boolean;
}

/** The bookworm main-archive URI in one apt sources file's text (deb822 `.sources` or one-line `.list`). */
export function bookwormMirrorIn(text: string, deb822: boolean): string | undefined {
  const stanzas = deb822
    ? text.split(/\n\s*\n/).map((s) => ({
        uris: /^URIs:\s*(.+)$/im.exec(s)?.[1]?.trim().split(/\s+/) ?? [],
        suites: /^Suites:\s*(.+)$/im.exec(s)?.[1]?.trim().split(/\s+/) ?? [],
      }))
    : text.split('\n').flatMap((line) => {
        const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line.trim());
        return m?.[1] && m[2] ? [{ uris: [m[1]], suites: [m[2]] }] : [];
      });
  for (const s of stanzas) {
    if (!s.suites.includes('bookworm')) continue;
    const uri = s.uris.find((u) => /^https?:\/\/.+\/debian\/?$/.test(u));
    if (uri) return uri.replace(/\/$/, '');
  }
  return undefined;
}

/** The bookworm main-archive mirror this machine's apt uses, if any. */
export function aptMirror(): string | undefined {
  const files = ['/etc/apt/sources.list'];
  const dir = '/etc/apt/sources.list.d';
  if (existsSync(dir)) for (const f of readdirSync(dir).sort()) files.push(join(dir, f));
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const mirror = bookwormMirrorIn(text, file.endsWith('.sources'));
    if (mirror) return mirror;
  }
  return undefined;
}

/** Fills in every default of {@link RootfsOptions}. */
export function resolveRootfsOptions(opts: RootfsOptions = {}): ResolvedRootfsOptions {
  return {
    cacheDir: opts.cacheDir ?? process.env.ETCD_KIT_TESTBED_CACHE ?? '/var/cache/etcd-kit-testbed',
    mirror: opts.mirror ?? process.env.ETCD_KIT_TESTBED_MIRROR ?? aptMirror() ?? 'http://deb.debian.org/debian',
    onLog: opts.onLog ?? (() => {}),
  };
}

/** Fills in every default of {@link TestbedOptions} and rejects impossible values. */
export function resolveTestbedOptions(opts: TestbedOptions = {}): ResolvedTestbedOptions {
  const hosts = opts.hosts ?? 3;
  if (!Number.isInteger(hosts) || hosts < 1 || hosts > 50) throw new Error(`testbed: hosts must be 1–50, got ${hosts}`);
  if (opts.id !== undefined && (!Number.isInteger(opts.id) || opts.id < 1 || opts.id > 254)) {
    throw new Error(`testbed: id must be 1–254, got ${opts.id}`);
  }
  return {
    ...resolveRootfsOptions(opts),
    hosts,
    id: opts.id,
    bootTimeoutMs: opts.bootTimeoutMs ?? 60_000,
    persistent: opts.persistent ?? false,
  };
}
