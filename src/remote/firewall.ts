/**
 * The host firewall, all of it in one place: what the facts script asks about it and how its answer is
 * parsed ({@link FirewallFacts}), which ports to open where ({@link planFirewall}), the commands that open
 * them, the script that closes them again on uninstall, and the marker ({@link FIREWALL_RULE_COMMENT}) that
 * tells etcd-kit's rules from the admin's own. etcd-kit opens ports in an active firewall and never switches
 * the firewall off (the recipe's `systemctl stop firewalld` is exactly what etcd-kit must not do).
 * @module
 */
import { shellQuote } from './shell.js';

/**
 * The comment on every firewall rule etcd-kit adds (`comment "etcd-kit"` on an nftables rule, `comment etcd-kit`
 * on a ufw rule): how install finds its own nftables rule again and which nftables rules uninstall deletes
 * (ufw and firewalld openings are left in place, tagged so an operator can find them).
 */
export const FIREWALL_RULE_COMMENT = 'etcd-kit';

/** The nftables statement that marks a rule as etcd-kit's, as `nft list ruleset` prints it. */
const NFT_MARK = `comment "${FIREWALL_RULE_COMMENT}"`;

/** Host firewalls found active. */
export interface FirewallFacts {
  /** firewalld. */
  firewalld: {
    /** firewalld is running. */
    active: boolean;
    /** TCP ports it allows (`firewall-cmd --list-ports`). */
    openPorts: number[];
  };
  /** ufw. */
  ufw: {
    /** ufw is installed and active. */
    active: boolean;
    /** TCP ports with an ALLOW rule. */
    allowedPorts: number[];
  };
  /** nftables base chains on the input hook that block by default (see {@link NftInputChain}). */
  nftables: NftInputChain[];
  /** Set when `nft` exists but `nft list ruleset` failed: whether a firewall blocks etcd is unknown. */
  nftablesError?: string;
}

/**
 * An nftables filter chain on the input hook (family `ip`, `ip6` or `inet`) that blocks what no rule
 * accepts: `policy drop`, or a last rule that drops or rejects everything reaching it.
 */
export interface NftInputChain {
  /** Table family (`inet`, `ip`, `ip6`). */
  family: string;
  /** Table name. */
  table: string;
  /** Chain name. */
  chain: string;
  /** Handle of the chain's last rule when it is an unconditional drop or reject: etcd-kit's rule goes right before it. */
  finalRuleHandle?: number;
  /** etcd-kit's accept rule in this chain (`comment "etcd-kit"`): the ports it opens and its handle (when known). */
  etcdKitRule?: {
    /** TCP ports of its `tcp dport` match. */
    ports: number[];
    /** Rule handle (`nft -a`), for replacing it when the ports change. */
    handle?: number;
  };
}

// ---------------------------------------------------------------------------------------------------------
// Reading: the facts script's firewall sections and their parsing.

/**
 * The firewall part of the read-only facts script (sections `@@firewalld`, `@@ufw`, `@@nft` and, when `nft`
 * fails, `@@nfterror`), parsed by {@link parseFirewallSections}. Changes nothing.
 */
export const FIREWALL_FACTS_SCRIPT = `echo @@firewalld
if command -v firewall-cmd >/dev/null 2>&1 && systemctl is-active --quiet firewalld 2>/dev/null; then
  echo active; firewall-cmd --list-ports 2>/dev/null || true
fi
echo @@ufw
if command -v ufw >/dev/null 2>&1; then ufw status 2>/dev/null || true; fi
echo @@nft
if command -v nft >/dev/null 2>&1; then
  if out=$(nft -a list ruleset 2>&1); then printf '%s\\n' "$out"; else echo @@nfterror; printf '%s\\n' "$out" | tail -n 1; fi
fi
`;

/** Parses the sections {@link FIREWALL_FACTS_SCRIPT} printed, as the facts output split them (section name → lines). */
export function parseFirewallSections(sections: ReadonlyMap<string, readonly string[]>): FirewallFacts {
  const lines = (name: string) => (sections.get(name) ?? []).filter((l) => l.trim() !== '');
  const nftError = sections.has('nfterror') ? lines('nfterror')[0]?.trim() || 'nft failed' : undefined;
  return parseFirewall(lines('firewalld'), lines('ufw'), [...(sections.get('nft') ?? [])], nftError);
}

function tcpPorts(text: string): number[] {
  return [...text.matchAll(/(?:^|\s)(\d+)\/tcp\b/g)].map((m) => Number(m[1]));
}

/** Parses the firewall sections of the facts output (`nftError`: the last line `nft` printed when it failed). */
export function parseFirewall(firewalld: string[], ufw: string[], nft: string[], nftError?: string): FirewallFacts {
  const firewalldActive = firewalld[0]?.trim() === 'active';
  const ufwActive = ufw.some((l) => /^Status: active/.test(l.trim()));
  const ufwAllowed: number[] = [];
  for (const line of ufw) {
    const match = /^(\d+)\/tcp\s+ALLOW\b/.exec(line.trim());
    if (match) ufwAllowed.push(Number(match[1]));
  }
  return {
    firewalld: { active: firewalldActive, openPorts: firewalldActive ? tcpPorts(firewalld.slice(1).join(' ')) : [] },
    ufw: { active: ufwActive, allowedPorts: ufwActive ? ufwAllowed : [] },
    nftables: nftError === undefined ? parseNftInputChains(nft) : [],
    ...(nftError === undefined ? {} : { nftablesError: nftError }),
  };
}

const HANDLE = /\s+# handle (\d+)$/;

/** A rule that drops or rejects whatever reaches it (counters and logging aside). */
function isFinalBlock(rule: string): boolean {
  const statement = rule
    .replace(/\bcounter(?: packets \d+ bytes \d+)?/g, '')
    .replace(/\blog(?: prefix "[^"]*")?(?: level \w+)?/g, '')
    .trim();
  return /^(drop|reject(?: with .+)?)$/.test(statement);
}

/** TCP ports of a rule's `tcp dport N` or `tcp dport { N, M }` match. */
function dports(rule: string): number[] {
  const match = /\btcp dport (?:\{ ([\d, ]+) \}|(\d+))/.exec(rule);
  return (match?.[1] ?? match?.[2] ?? '')
    .split(',')
    .map((p) => Number(p.trim()))
    .filter((p) => Number.isInteger(p) && p > 0);
}

/**
 * Finds, in `nft -a list ruleset` output (handles optional), the filter chains on the input hook that
 * block by default ({@link NftInputChain}), with etcd-kit's own rule (recognised by `comment "etcd-kit"`).
 */
export function parseNftInputChains(lines: string[]): NftInputChain[] {
  const out: NftInputChain[] = [];
  let table: { family: string; name: string } | undefined;
  let chain: { name: string; input: boolean; drop: boolean; rules: { text: string; handle?: number }[] } | undefined;
  const flush = () => {
    const last = chain?.rules.at(-1);
    const finalBlock = last !== undefined && isFinalBlock(last.text);
    if (table && chain?.input && (chain.drop || finalBlock) && ['ip', 'ip6', 'inet'].includes(table.family)) {
      const ours = chain.rules.find((r) => r.text.includes(NFT_MARK));
      out.push({
        family: table.family,
        table: table.name,
        chain: chain.name,
        ...(finalBlock && last.handle !== undefined ? { finalRuleHandle: last.handle } : {}),
        ...(ours ? { etcdKitRule: { ports: dports(ours.text), ...(ours.handle !== undefined ? { handle: ours.handle } : {}) } } : {}),
      });
    }
    chain = undefined;
  };
  for (const raw of lines) {
    const handle = HANDLE.exec(raw);
    const line = raw.replace(HANDLE, '').trim();
    const t = /^table (\S+) (\S+) \{$/.exec(line);
    if (t) {
      flush();
      table = { family: t[1] ?? '', name: t[2] ?? '' };
      continue;
    }
    const c = /^chain (\S+) \{$/.exec(line);
    if (c) {
      flush();
      chain = { name: c[1] ?? '', input: false, drop: false, rules: [] };
      continue;
    }
    if (!chain) continue;
    if (line === '}') {
      flush();
      continue;
    }
    if (/^type \S+ hook /.test(line)) {
      chain.input = /^type filter hook input\b/.test(line);
      chain.drop = /\bpolicy drop\b/.test(line);
      continue;
    }
    if (line !== '') chain.rules.push({ text: line, ...(handle?.[1] ? { handle: Number(handle[1]) } : {}) });
  }
  flush();
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Opening: the plan and its commands.

/** Which firewall etcd-kit manages on a host, and what it does there. */
export interface FirewallPlan {
  /**
   * The firewall found active, or `none`. firewalld wins over ufw, ufw over raw nftables. `unknown`: `nft`
   * could not list the ruleset, so nothing was changed (see `warning`).
   */
  kind: 'firewalld' | 'ufw' | 'nftables' | 'none' | 'unknown';
  /** Ports opened by this plan (empty when they are open already). */
  opens: number[];
  /**
   * Whether the opening survives a reboot. firewalld and ufw rules do; an nftables rule is inserted into
   * the live ruleset only (etcd-kit does not edit `/etc/nftables.conf`), so re-run install after a reboot.
   */
  persistent: boolean;
  /** The `sh` commands that open the ports (empty when nothing to do). */
  commands: string[];
  /** Why the ports may still be blocked (the firewall could not be read). */
  warning?: string;
}

function nftRule(ports: readonly number[]): string {
  return `tcp dport { ${ports.join(', ')} } accept ${NFT_MARK}`;
}

/**
 * The command that makes `chain` accept `ports`, or undefined when its etcd-kit rule does already. A rule
 * with other ports (etcd's ports changed) is replaced, so an old port does not stay open; a new rule goes
 * right before a final drop/reject rule, else at the end: the admin's own rules (a blocked source, say)
 * still come first.
 */
function nftCommand(c: NftInputChain, ports: readonly number[]): string | undefined {
  const where = `${c.family} ${c.table} ${c.chain}`;
  const ours = c.etcdKitRule;
  if (ours && ports.every((p) => ours.ports.includes(p)) && ours.ports.every((p) => ports.includes(p))) return undefined;
  if (ours?.handle !== undefined) return `nft ${shellQuote(`replace rule ${where} handle ${ours.handle} ${nftRule(ports)}`)}`;
  if (c.finalRuleHandle !== undefined) return `nft ${shellQuote(`insert rule ${where} position ${c.finalRuleHandle} ${nftRule(ports)}`)}`;
  return `nft ${shellQuote(`add rule ${where} ${nftRule(ports)}`)}`;
}

/** Decides which firewall to use and which of `ports` it must open, from the host's facts. */
export function planFirewall(facts: FirewallFacts, ports: readonly number[]): FirewallPlan {
  if (facts.firewalld.active) {
    const opens = ports.filter((p) => !facts.firewalld.openPorts.includes(p));
    const args = opens.map((p) => `--add-port=${p}/tcp`).join(' ');
    // Runtime and permanent separately: `--reload` would drop other runtime-only rules.
    const commands = opens.length === 0 ? [] : [`firewall-cmd --permanent ${args} >/dev/null`, `firewall-cmd ${args} >/dev/null`];
    return { kind: 'firewalld', opens, persistent: true, commands };
  }
  if (facts.ufw.active) {
    const opens = ports.filter((p) => !facts.ufw.allowedPorts.includes(p));
    return {
      kind: 'ufw',
      opens,
      persistent: true,
      commands: opens.map((p) => `ufw allow ${p}/tcp comment ${shellQuote(FIREWALL_RULE_COMMENT)} >/dev/null`),
    };
  }
  if (facts.nftables.length > 0) {
    const changed = facts.nftables.flatMap((c) => {
      const command = nftCommand(c, ports);
      return command === undefined ? [] : [{ chain: c, command }];
    });
    const opens = ports.filter((p) => changed.some(({ chain }) => !chain.etcdKitRule?.ports.includes(p)));
    return { kind: 'nftables', opens, persistent: false, commands: changed.map((c) => c.command) };
  }
  if (facts.nftablesError !== undefined) {
    return {
      kind: 'unknown',
      opens: [],
      persistent: false,
      commands: [],
      warning: `cannot read the nftables ruleset (${facts.nftablesError}): if a firewall blocks ports ${ports.join(', ')}, open them`,
    };
  }
  return { kind: 'none', opens: [], persistent: true, commands: [] };
}

// ---------------------------------------------------------------------------------------------------------
// Closing: what uninstall runs.

/**
 * The `sh` lines (run as root) that delete every nftables rule marked as etcd-kit's, by its handle, printing
 * `@firewall <family> <table> <chain>` for each. firewalld and ufw openings are left alone. Nothing to do
 * without `nft`.
 */
export function firewallCloseScript(): string[] {
  // `nft -a` ends every rule with `# handle N`: delete each rule tagged as ours by its handle, and say where.
  return [
    'if command -v nft >/dev/null 2>&1; then',
    `  nft -a list ruleset 2>/dev/null | awk '$1 == "table" { fam = $2; tab = $3 } $1 == "chain" { ch = $2 } /${NFT_MARK}/ { print fam, tab, ch, $NF }' |`,
    '  while read -r fam tab ch handle; do',
    '    nft delete rule "$fam" "$tab" "$ch" handle "$handle" && echo "@firewall $fam $tab $ch"',
    '  done',
    'fi',
  ];
}
