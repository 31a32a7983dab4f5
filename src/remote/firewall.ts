/**
 * Opening etcd's ports in an active host firewall, never switching the firewall off (the recipe's
 * `systemctl stop firewalld` is exactly what etcd-kit must not do).
 * @module
 */
import type { FirewallFacts, NftInputChain } from './facts.js';
import { shellQuote } from './shell.js';

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
  return `tcp dport { ${ports.join(', ')} } accept comment "etcd-kit"`;
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
      commands: opens.map((p) => `ufw allow ${p}/tcp comment etcd-kit >/dev/null`),
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
