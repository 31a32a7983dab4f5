/**
 * One round trip that tells everything install needs to know about a host: SHA-256 and ownership of every
 * managed file, the directories, the service account, the systemd unit's state, listening TCP sockets,
 * and which host firewall is active (that part is firewall.ts's: {@link FIREWALL_FACTS_SCRIPT}). The script changes
 * nothing but its own hash cache ({@link HASH_CACHE_FILE}).
 * @module
 */
import { FIREWALL_FACTS_SCRIPT, type FirewallFacts, parseFirewallSections } from './firewall.js';
import { cleanJournalLine } from './journal-line.js';
import { shellArgs, shellQuote } from './shell.js';

/** What to ask a host about. */
export interface FactsQuery {
  /** Managed files (absolute paths). */
  files: readonly string[];
  /** Managed directories (absolute paths). */
  dirs: readonly string[];
  /** systemd unit, e.g. `etcd.service`. */
  unitName: string;
  /** Service account. */
  serviceUser: string;
  /** Its group. */
  serviceGroup: string;
  /** Hash cache on the host. Default: {@link HASH_CACHE_FILE}. */
  hashCacheFile?: string;
  /** Small text files whose content is returned too (env files, so callers can see *what* changed). Default: none. */
  readFiles?: readonly string[];
  /**
   * The etcd binary (one of `files`, or `<binDir>/etcd`): when it exists as a regular file, its `--version` is
   * reported ({@link HostFacts.etcdVersion}), run once per content and then remembered in the hash cache by
   * SHA-256. Default: none.
   */
  etcdBinary?: string;
  /** etcd's data dir: reported is whether it holds a member (`<dataDir>/member`). Default: not asked. */
  dataDir?: string;
  /**
   * The binaries' directory (`layout.binDir`): reported are its symlinks and their targets
   * ({@link HostFacts.links}: `current` and the stable `etcd`, `etcdctl`, `etcdutl`), its version directories
   * ({@link HostFacts.versionDirs}), and the hashes of `etcd`, `etcdctl`, `etcdutl` directly in it when they are
   * regular files (an install from before versioned paths). Default: not asked.
   */
  binDir?: string;
}

/** Mode and ownership of a path. */
export interface PathStat {
  /** Permission bits. */
  mode: number;
  /** Owner name (`UNKNOWN` if it has none). */
  owner: string;
  /** Group name. */
  group: string;
  /** `regular file`, `directory`, `symbolic link`, ... as `stat %F` prints it. */
  type: string;
}

/** State of the etcd systemd unit. */
export interface UnitFacts {
  /** `loaded`, `not-found`, ... */
  loadState: string;
  /** `active`, `activating`, `inactive`, `failed`, ... */
  activeState: string;
  /** `running`, `start`, `dead`, ... */
  subState: string;
  /** PID of the main process, 0 when not running. */
  mainPid: number;
  /** `enabled`, `disabled`, ... (empty when the unit file is missing). */
  unitFileState: string;
  /** The unit file changed on disk since systemd loaded it. */
  needDaemonReload: boolean;
  /** How often systemd restarted the service since it was last started by hand (`NRestarts`); absent when not reported. */
  restarts?: number;
}

/** What one read-only round trip learns about a host (see {@link inspectMember}); what install plans from. */
export interface HostFacts {
  /** uid the script ran as (0 expected). */
  uid: number;
  /** `uname -m`. */
  arch: string;
  /** systemd is the init system (`/run/systemd/system` exists). */
  systemd: boolean;
  /** systemd's version (`systemctl --version`), 0 when unknown. */
  systemdVersion: number;
  /** Required tools that are missing (`sha256sum`, `install`, `useradd`, ...). */
  missingTools: string[];
  /** The service account exists. */
  userExists: boolean;
  /** The service group exists. */
  groupExists: boolean;
  /**
   * SHA-256 of each managed file; `null` when missing or not a regular file. With `FactsQuery.binDir`, also
   * `<binDir>/etcd`, `etcdctl`, `etcdutl` (regular files only in a flat install) and the etcd in the version
   * directory `current` names (when it is one).
   */
  hashes: Map<string, string | null>;
  /** Mode and owner of each managed file and directory that exists. */
  stats: Map<string, PathStat>;
  /** The unit. */
  unit: UnitFacts;
  /** Listening TCP sockets. */
  listening: {
    /** TCP port. */
    port: number;
    /** Socket inode (matched against {@link HostFacts.mainPidSockets}). */
    inode: string;
  }[];
  /** Socket inodes held by the unit's main process. */
  mainPidSockets: Set<string>;
  /** Firewalls. */
  firewall: FirewallFacts;
  /** Text of the small files read along (the env file), by path, when they exist as regular files. */
  contents: Map<string, string>;
  /**
   * The etcd release on disk, `X.Y.Z`: what `<binDir>/etcd` starts, as that binary's `--version` reports it
   * (`etcd Version: X.Y.Z`, run once per content and remembered in the hash cache): `FactsQuery.etcdBinary`
   * when it is a regular file (an install from before versioned paths), else, with `<binDir>/etcd` →
   * `current/etcd`, the etcd in the version directory `current` names (falling back to that directory's name
   * when it does not run). Absent when neither is there, nothing was asked, or the binary printed no such line.
   */
  etcdVersion?: string;
  /**
   * Symlinks directly in `FactsQuery.binDir`, path → target as `readlink` prints it (`/opt/etcd/bin/current`
   * → `3.5.30`, `/opt/etcd/bin/etcd` → `current/etcd`). Empty when not asked.
   */
  links: Map<string, string>;
  /** Version directories in `FactsQuery.binDir` (names matching `VERSION_DIR_NAME`, real directories), sorted. Empty when not asked. */
  versionDirs: string[];
  /** `FactsQuery.dataDir` holds a member (`member/` exists): etcd has run there. False when not asked. */
  memberData: boolean;
  /**
   * The last fatal lines etcd wrote to its journal (`panic`/`fatal` level, at most 3, each cut to 400
   * characters), read only while its unit is failing (not running, and crashed or restarting); else empty.
   */
  etcdFatal?: string[];
}

/**
 * Host-side cache of file hashes, keyed by device, inode, size and nanosecond mtime/ctime (as git's index
 * does): hashing the 40 MB of etcd binaries on every run would cost most of a no-change re-run. Every
 * replacement is a new inode, and no write can keep ctime, so a stale entry cannot match; files changed
 * within the last second or two are never cached (two writes within one clock tick share a timestamp).
 */
export const HASH_CACHE_FILE = '/var/cache/etcd-kit/sha256sums';

const REQUIRED_TOOLS = ['sha256sum', 'install', 'stat', 'useradd', 'groupadd', 'getent', 'systemctl', 'sync', 'mv', 'ln', 'find'];

/** Names of the binaries in `binDir` (kept here: facts.ts imports nothing that reads files). */
const BINARY_NAMES = ['etcd', 'etcdctl', 'etcdutl'];

/** Same as `VERSION_DIR_NAME` of bundle.ts (kept here to keep this module free of the bundle's imports). */
const VERSION_DIR = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

/** The read-only `sh` script that gathers {@link HostFacts}; run it as root. */
export function factsScript(query: FactsQuery): string {
  const unit = shellQuote(query.unitName);
  const etcdBinary = shellQuote(query.etcdBinary ?? '');
  const binDir = query.binDir;
  const flat = binDir === undefined ? [] : BINARY_NAMES.map((n) => `${binDir}/${n}`);
  const hashed = [...new Set([...query.files, ...flat])];
  // Every fork costs the host a few ms of CPU: builtins where they do, one stat for all files, the hash
  // cache read once and searched with parameter expansion, one systemctl show, one ls of etcd's fds.
  return `export LC_ALL=C
nl='
'
echo @@uid; id -u
echo @@arch; uname -m
echo @@systemd; if [ -d /run/systemd/system ]; then echo yes; else echo no; fi
echo @@systemdversion; v=$(systemctl --version 2>/dev/null) || v=''; printf '%s\\n' "\${v%%"$nl"*}"
echo @@tools; for t in ${shellArgs(REQUIRED_TOOLS)}; do command -v "$t" >/dev/null 2>&1 || echo "$t"; done
echo @@user; getent passwd ${shellQuote(query.serviceUser)} >/dev/null 2>&1 && echo yes || echo no
echo @@group; getent group ${shellQuote(query.serviceGroup)} >/dev/null 2>&1 && echo yes || echo no
echo @@bin
bindir=${shellQuote(binDir ?? '')}
cur=''; etcdlink=''
if [ -n "$bindir" ]; then
  # One fork: every link (with its target) and directory directly in binDir; '/' never occurs in a name.
  binlist=$(find "$bindir" -mindepth 1 -maxdepth 1 \\( -type l -o -type d \\) -printf '%y %f/%l\\n' 2>/dev/null) || binlist=''
  printf '%s\\n%s\\n' "$bindir" "$binlist"
  case "$nl$binlist$nl" in *"\${nl}l current/"*) cur=\${nl}\${binlist}\${nl}; cur=\${cur#*"\${nl}l current/"}; cur=\${cur%%"$nl"*} ;; esac
  case "$nl$binlist$nl" in *"\${nl}l etcd/"*) etcdlink=\${nl}\${binlist}\${nl}; etcdlink=\${etcdlink#*"\${nl}l etcd/"}; etcdlink=\${etcdlink%%"$nl"*} ;; esac
fi
echo @@hashes
cache=${shellQuote(query.hashCacheFile ?? HASH_CACHE_FILE)}
cached=$(cat "$cache" 2>/dev/null) || cached=''
now=$(date +%s)
new=''
etcdbin=${etcdBinary}
etcdsum=''
# Versioned paths: the etcd in the version directory current names is hashed (and run with --version) too.
curbin=''; cursum=''
case "$cur" in ''|*/*|.|..) ;; *) if [ "$etcdlink" = current/etcd ] && [ -d "$bindir/$cur" ] && [ ! -L "$bindir/$cur" ]; then curbin="$bindir/$cur/etcd"; fi ;; esac
extra=$curbin
set --
for f in ${shellArgs(hashed)}; do
  [ "$f" != "$extra" ] || extra=''
  if [ -f "$f" ] && [ ! -L "$f" ]; then set -- "$@" "$f"; else printf 'MISSING  %s\\n' "$f"; fi
done
if [ -n "$extra" ] && [ -f "$extra" ] && [ ! -L "$extra" ]; then set -- "$@" "$extra"; fi
if [ $# -gt 0 ]; then
  meta=$(stat -c '%d:%i:%s:%.9Y:%.9Z %Z %n' -- "$@")
  while read -r key ctime f; do
    [ -n "$f" ] || continue
    sum=''
    case "$nl$cached$nl" in
      *" $key $f$nl"*) sum=\${nl}\${cached}\${nl}; sum=\${sum%%" $key $f$nl"*}; sum=\${sum##*"$nl"} ;;
    esac
    case "$sum" in *[!0-9a-f]*) sum='' ;; esac
    [ \${#sum} -eq 64 ] || sum=''
    if [ -z "$sum" ]; then sum=$(sha256sum -- "$f"); sum=\${sum%% *}; sum=\${sum#\\\\}; fi
    printf '%s  %s\\n' "$sum" "$f"
    [ "$f" != "$etcdbin" ] || etcdsum=$sum
    [ "$f" != "$curbin" ] || cursum=$sum
    # Racy entries (changed within the last second) are not cached: two writes in one clock tick share a timestamp.
    [ $((now - ctime)) -lt 2 ] || new="$new$sum $key $f$nl"
  done <<ETCD_KIT_META
$meta
ETCD_KIT_META
fi
echo @@etcdversion
# The flat install's etcd, else the one current names. Keyed by content (a line '<sha256> version X.Y.Z' in
# the cache): etcd runs once per binary, not per read.
pbin=''; psum=''
if [ -n "$etcdsum" ]; then pbin=$etcdbin; psum=$etcdsum; elif [ -n "$cursum" ]; then pbin=$curbin; psum=$cursum; fi
if [ -n "$psum" ]; then
  ver=''
  case "$nl$cached$nl" in
    *"$nl$psum version "*) ver=\${nl}\${cached}\${nl}; ver=\${ver#*"$nl$psum version "}; ver=\${ver%%"$nl"*} ;;
  esac
  case "$ver" in
    ''|*[!0-9.]*)
      if command -v timeout >/dev/null 2>&1; then ver=$(timeout 10 "$pbin" --version 2>/dev/null) || ver=''
      else ver=$("$pbin" --version 2>/dev/null) || ver=''; fi
      ver=\${ver%%"$nl"*}; ver=\${ver#etcd Version: }
      case "$ver" in ''|*[!0-9.]*) ver='' ;; esac ;;
  esac
  [ -z "$ver" ] || new="$new$psum version $ver$nl"
  # It did not run (a noexec mount, say): the version directory's name, as placed after its own --version check.
  if [ -z "$ver" ] && [ "$pbin" = "$curbin" ]; then case "$cur" in *[!0-9.]*) ;; *) ver=$cur ;; esac; fi
  printf '%s\\n' "$ver"
fi
if [ -n "$new" ] && [ "$new" != "$cached$nl" ]; then
  mkdir -p "\${cache%/*}" && chmod 0700 "\${cache%/*}" && printf '%s' "$new" >"$cache.$$" && mv -f "$cache.$$" "$cache" || true
fi
${query.dataDir === undefined ? '' : `echo @@memberdata; if [ -d ${shellQuote(`${query.dataDir}/member`)} ]; then echo yes; else echo no; fi
`}echo @@stats
set --
for p in ${shellArgs([...query.dirs, ...query.files])}; do
  if [ -e "$p" ] || [ -L "$p" ]; then set -- "$@" "$p"; fi
done
[ $# -eq 0 ] || stat -c '%a %U %G %F|%n' -- "$@" 2>/dev/null || true
echo @@unit
unitinfo=$(systemctl show ${unit} -p LoadState -p ActiveState -p SubState -p MainPID -p UnitFileState -p NeedDaemonReload -p NRestarts 2>/dev/null) || unitinfo=''
printf '%s\\n' "$unitinfo"
# systemd caches UnitFileState until a daemon-reload; is-enabled reads the symlinks on disk.
echo @@enabled; systemctl is-enabled ${unit} 2>/dev/null || true
echo @@listen
cat /proc/net/tcp /proc/net/tcp6 2>/dev/null || true
echo @@mainpid
case "$unitinfo" in *MainPID=*) pid=\${unitinfo#*MainPID=}; pid=\${pid%%"$nl"*} ;; *) pid='' ;; esac
if [ -n "$pid" ] && [ "$pid" != 0 ]; then
  ls -l /proc/"$pid"/fd 2>/dev/null | sed -n 's/.* -> \\(socket:\\[[0-9]*\\]\\)$/\\1/p'
fi
echo @@etcdfatal
# Only while the unit is failing (a crash loop, or given up): why etcd exits, from its own last words.
sub=''; act=''; nres=''
for kv in $unitinfo; do
  case "$kv" in SubState=*) sub=\${kv#*=} ;; ActiveState=*) act=\${kv#*=} ;; NRestarts=*) nres=\${kv#*=} ;; esac
done
if [ "$sub" != running ] && { [ "$act" = activating ] || [ "$act" = failed ] || [ "\${nres:-0}" != 0 ]; }; then
  journalctl -u ${unit} -n 40 -o cat --no-pager 2>/dev/null | grep -E '"level":"(panic|fatal)"|^panic: ' | tail -n 3 | cut -c1-400 || true
fi
${FIREWALL_FACTS_SCRIPT}echo @@contents
for f in ${shellArgs(query.readFiles ?? [])}; do
  if [ -f "$f" ] && [ ! -L "$f" ]; then printf '%s ' "$f"; base64 -w0 -- "$f"; echo; fi
done
echo @@end
`;
}

function sections(stdout: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of stdout.split('\n')) {
    const header = /^@@([a-z]+)$/.exec(line);
    if (header) {
      current = [];
      out.set(header[1] ?? '', current);
      continue;
    }
    current?.push(line);
  }
  if (!out.has('end')) throw new Error('host facts output is truncated');
  return out;
}

/** Parses the output of {@link factsScript}. Throws if the output is truncated. */
export function parseFacts(stdout: string): HostFacts {
  const s = sections(stdout);
  const lines = (name: string) => (s.get(name) ?? []).filter((l) => l.trim() !== '');
  const first = (name: string) => lines(name)[0]?.trim() ?? '';

  const hashes = new Map<string, string | null>();
  for (const line of lines('hashes')) {
    const match = /^([0-9a-f]{64}|MISSING) {2}(.*)$/.exec(line);
    if (match) hashes.set(match[2] ?? '', match[1] === 'MISSING' ? null : (match[1] ?? null));
  }
  const stats = new Map<string, PathStat>();
  for (const line of lines('stats')) {
    const match = /^([0-7]+) (\S+) (\S+) ([^|]+)\|(.*)$/.exec(line);
    if (match) {
      stats.set(match[5] ?? '', {
        mode: Number.parseInt(match[1] ?? '0', 8),
        owner: match[2] ?? '',
        group: match[3] ?? '',
        type: match[4] ?? '',
      });
    }
  }
  const listening: HostFacts['listening'] = [];
  for (const line of lines('listen')) {
    const f = line.trim().split(/\s+/);
    // sl local rem st queues timer retr uid timeout inode
    if (f[3] !== '0A' || f[1] === undefined || f[9] === undefined) continue;
    const port = Number.parseInt(f[1].slice(f[1].lastIndexOf(':') + 1), 16);
    if (Number.isFinite(port)) listening.push({ port, inode: f[9] });
  }
  const mainPidSockets = new Set<string>();
  for (const line of lines('mainpid')) {
    const match = /^socket:\[(\d+)\]$/.exec(line.trim());
    if (match?.[1]) mainPidSockets.add(match[1]);
  }
  const contents = new Map<string, string>();
  for (const line of lines('contents')) {
    const space = line.lastIndexOf(' ');
    if (space > 0) contents.set(line.slice(0, space), Buffer.from(line.slice(space + 1), 'base64').toString('utf8'));
  }
  const etcdVersion = first('etcdversion');
  const [binDir, ...binEntries] = s.get('bin') ?? [];
  const links = new Map<string, string>();
  const versionDirs: string[] = [];
  for (const line of binDir ? binEntries : []) {
    const match = /^([ld]) ([^/]+)\/(.*)$/.exec(line);
    if (!match) continue;
    const [, type, name = '', target = ''] = match;
    if (type === 'l') links.set(`${binDir}/${name}`, target);
    else if (VERSION_DIR.test(name)) versionDirs.push(name);
  }
  versionDirs.sort();
  return {
    contents,
    links,
    versionDirs,
    ...(/^\d+\.\d+\.\d+$/.test(etcdVersion) ? { etcdVersion } : {}),
    memberData: first('memberdata') === 'yes',
    etcdFatal: lines('etcdfatal').map(cleanJournalLine),
    uid: Number.parseInt(first('uid'), 10),
    arch: first('arch'),
    systemd: first('systemd') === 'yes',
    systemdVersion: Number(/^systemd (\d+)/.exec(first('systemdversion'))?.[1] ?? 0),
    missingTools: lines('tools').map((l) => l.trim()),
    userExists: first('user') === 'yes',
    groupExists: first('group') === 'yes',
    hashes,
    stats,
    unit: withEnablement(parseUnitShow(lines('unit').join('\n')), first('enabled')),
    listening,
    mainPidSockets,
    firewall: parseFirewallSections(s),
  };
}

/** The unit with its enablement as `systemctl is-enabled` reads it from disk, when it answered. */
function withEnablement(unit: UnitFacts, isEnabled: string): UnitFacts {
  return isEnabled === '' ? unit : { ...unit, unitFileState: isEnabled };
}

/** Parses `systemctl show` output for {@link UnitFacts}. */
export function parseUnitShow(stdout: string): UnitFacts {
  const props = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) props.set(line.slice(0, eq), line.slice(eq + 1).trim());
  }
  return {
    loadState: props.get('LoadState') ?? '',
    activeState: props.get('ActiveState') ?? '',
    subState: props.get('SubState') ?? '',
    mainPid: Number.parseInt(props.get('MainPID') ?? '0', 10) || 0,
    unitFileState: props.get('UnitFileState') ?? '',
    needDaemonReload: props.get('NeedDaemonReload') === 'yes',
    ...(props.has('NRestarts') ? { restarts: Number.parseInt(props.get('NRestarts') ?? '0', 10) || 0 } : {}),
  };
}
