/**
 * The cluster spec as users write it (a plain object, or the same as YAML/JSON for the CLI). Every field is
 * documented here with its default; {@link resolveClusterSpec} validates it and fills the defaults in.
 * @module
 */
import type { KeyAlgorithm } from '../pki/index.js';
import type { EtcdSettings } from '../render/index.js';

/**
 * SSH settings one member may override.
 * @category Deploy and day 2
 */
export interface MemberSshInput {
  /** SSH port of this host. Default: `ssh.port`, else 22. */
  port?: number;
  /** Login user on this host. Default: `ssh.user`, else `'root'`. */
  user?: string;
  /** Private key for this host. Default: `ssh.privateKeyPath`. */
  privateKeyPath?: string;
  /** Pinned host key fingerprint (`SHA256:...` as `ssh-keygen -lf` prints it); known_hosts is then not consulted. */
  hostKeyFingerprint?: string;
}

/**
 * One etcd member.
 * @category Deploy and day 2
 */
export interface MemberInput {
  /** etcd member name (`ETCD_NAME`): 1–63 characters of `[A-Za-z0-9._-]`. Required, unique. */
  name: string;
  /** Where to SSH to: IPv4, IPv6 or DNS name. Also the address etcd listens on and advertises unless `address` is set. Required, unique. */
  host: string;
  /** Address etcd listens on and advertises, when it differs from `host`. Default: `host`. */
  address?: string;
  /** Extra names/IPs for this member's server and peer certificates (e.g. a DNS name clients use). Default: none. */
  extraSans?: string[];
  /** Per-host SSH overrides. */
  ssh?: MemberSshInput;
}

/**
 * SSH settings shared by all members. Host keys are always verified.
 * @category Deploy and day 2
 */
export interface SshInput {
  /** Login user: `root`, or a user with passwordless `sudo` (`sudo -n`). Default: `'root'`. */
  user?: string;
  /** SSH port. Default: 22. */
  port?: number;
  /** Private key file (`~/` allowed). Default: ssh-agent if `SSH_AUTH_SOCK` is set, else the first of `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa`. */
  privateKeyPath?: string;
  /** Passphrase of an encrypted private key. Never logged. Default: none. */
  passphrase?: string;
  /** ssh-agent: `true` for `$SSH_AUTH_SOCK`, a socket path, or `false` to never use one. Default: used when no key file is given. */
  agent?: boolean | string;
  /** known_hosts file the host keys must be in (plain or hashed entries). Default: `~/.ssh/known_hosts`. */
  knownHostsPath?: string;
  /** Pinned host key fingerprints by member name or host (`SHA256:...`). Default: none (known_hosts is used). */
  hostKeyFingerprints?: Record<string, string>;
  /** Accept hosts missing from known_hosts (a changed key is still refused). Default: `false`. */
  acceptUnknownHostKeys?: boolean;
  /** Time allowed to connect and authenticate, in ms. Default: 10000. */
  readyTimeoutMs?: number;
}

/**
 * Where the etcd binaries come from: exactly one of these.
 * @category Deploy and day 2
 */
export type EtcdSourceInput =
  | {
      /** Official release tarball `etcd-vX.Y.Z-linux-<arch>.tar.gz`. */
      tarball: string;
    }
  | {
      /** http(s) URL of a release tarball, downloaded once onto the controller and cached. */
      url: string;
      /** Expected SHA-256 (64 hex characters; quote it in YAML): checked before any host is touched. */
      sha256: string;
    }
  | {
      /**
       * Directory holding `etcd` and `etcdctl` (and optionally `etcdutl`). Nothing names their version, so the
       * first deploy or plan runs this etcd once with `--version` on the first host (uploaded to the login
       * user's staging directory and deleted again); the answer is remembered by the binary's SHA-256.
       */
      binDir: string;
    };

/**
 * The local PKI directory.
 * @category Deploy and day 2
 */
export interface PkiInput {
  /** PKI directory on the controller: created when absent, reused (and completed) when present. Default: `./pki`. */
  dir?: string;
  /**
   * Algorithm of new keys (an existing CA keeps its own; new leaves follow it). Default: `'ecdsa-p256'`
   * (the classic recipe's cfssl makes RSA-2048: choose `'rsa-2048'` for a client that cannot do ECDSA).
   */
  keyAlgorithm?: KeyAlgorithm;
  /** Client certificates to issue (CN = name). At least one; health checks use `admin` (or the first). Default: `['admin', 'kube-apiserver']`. */
  clients?: string[];
  /**
   * Leaf certificates (member and client) ending within this many days are re-issued with the same CA; a
   * deploy then ships them and restarts members one at a time. `0` turns renewal off. Default: 30.
   */
  renewBeforeDays?: number;
}

/**
 * A cluster spec: what {@link deployEtcdCluster} and {@link planEtcdCluster} take.
 * @category Deploy and day 2
 */
export interface ClusterSpecInput {
  /** Cluster name, used as the initial cluster token. Default: `etcd-<12 hex of the CA certificate's SHA-256>` (stable across runs, unique per CA). */
  name?: string;
  /** The members. Required: at least one (an odd count, 3 or 5, is what you want). */
  members: MemberInput[];
  /** SSH settings. */
  ssh?: SshInput;
  /** Source of the etcd binaries. Required. */
  etcd: EtcdSourceInput;
  /** The PKI directory. Default: `{ dir: './pki' }`. */
  pki?: PkiInput;
  /** Paths on the hosts. */
  layout?: {
    /** Install prefix (`bin/`, `cfg/`, `ssl/` below it). Default: `/opt/etcd`. */
    prefix?: string;
    /** etcd data directory. Default: `/var/lib/etcd`. */
    dataDir?: string;
  };
  /** TCP ports. */
  ports?: {
    /** Client port. Default: 2379. */
    client?: number;
    /** Peer port. Default: 2380. */
    peer?: number;
  };
  /** etcd tunables, the same on every member; see {@link EtcdSettings} for each default. */
  settings?: EtcdSettings;
}
