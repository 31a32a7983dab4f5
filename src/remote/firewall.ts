/**
 * Opening etcd's ports in an active host firewall, never switching the firewall off (the recipe's
 * `systemctl stop firewalld` is exactly what etcd-kit must not do).
 * @module
 */
import type { FirewallFacts } from './facts.js';
import { shellQuote } from './shell.js';

/** Which firewall etcd-kit manages on a host, and what it does there. */
export interface FirewallPlan {
  /** The firewall found active, or `none`. firewalld wins over ufw, ufw over raw nftables. */
  kind: 'firewalld' | 'ufw' | 'nftables' | 'none';
  /** Ports opened by this plan (empty when they are open already). */
  opens: number[];
  /**
   * Whether the opening survives a reboot. firewalld and ufw rules do; an nftables rule is inserted into
   * the live ruleset only (etcd-kit does not edit `/etc/nftables.conf`), so re-run install after a reboot.
   */
  persistent: boolean;
  /** The `sh` commands that open the ports (empty when nothing to do). */
  commands: string[];
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
    const missing = facts.nftables.filter((c) => !c.hasEtcdKitRule);
    const set = ports.join(', ');
    const commands = missing.map((c) =>
      `nft ${shellQuote(`insert rule ${c.family} ${c.table} ${c.chain} tcp dport { ${set} } accept comment "etcd-kit"`)}`,
    );
    return { kind: 'nftables', opens: missing.length > 0 ? [...ports] : [], persistent: false, commands };
  }
  return { kind: 'none', opens: [], persistent: true, commands: [] };
}
