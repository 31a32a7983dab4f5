import { readdirSync } from 'node:fs';
import { type HostLayout, idOfObject, type TestbedLayout } from './layout.js';
import { run, runSync } from './run.js';

// Topology: one bridge in the root namespace (the controller, i.e. this machine, sits on it as .1) and one
// network namespace per host, joined by a veth pair whose host end is `eth0`. No default route anywhere,
// no forwarding, no NAT: packets for the testbed subnet never leave this machine.
//
// Every neighbour (ARP) entry is static: a disconnected or powered-off host then silently drops packets,
// so connections to it time out like across a real partition, while `unusedIp` (no entry) fails fast
// with "no route to host" after the ARP attempt.

/** Creates the bridge, every host's namespace and veth pair, addresses and static neighbour entries. */
export async function createNetwork(tb: TestbedLayout, hosts: readonly HostLayout[]): Promise<void> {
  const root = [
    `link add ${tb.bridge} address ${tb.bridgeMac} type bridge`,
    `addr add ${tb.gatewayIp}/24 dev ${tb.bridge}`,
    `link set ${tb.bridge} up`,
  ];
  for (const h of hosts) {
    root.push(
      `netns add ${h.object}`,
      `link add ${h.object} type veth peer name eth0 address ${h.mac} netns ${h.object}`,
      `link set ${h.object} master ${tb.bridge} up`,
      `neigh replace ${h.ip} lladdr ${h.mac} dev ${tb.bridge} nud permanent`,
    );
  }
  await run(['ip', '-batch', '-'], { input: `${root.join('\n')}\n` });
  await Promise.all(
    hosts.map((h) => {
      const inside = [
        'link set lo up',
        `addr add ${h.ip}/24 dev eth0`,
        'link set eth0 up',
        `neigh replace ${tb.gatewayIp} lladdr ${tb.bridgeMac} dev eth0 nud permanent`,
        ...hosts.filter((p) => p !== h).map((p) => `neigh replace ${p.ip} lladdr ${p.mac} dev eth0 nud permanent`),
      ];
      return run(['ip', '-n', h.object, '-batch', '-'], { input: `${inside.join('\n')}\n` });
    }),
  );
}

/** Plugs the host's cable in (`up`) or pulls it (`!up`): its bridge port goes up or down. */
export async function setLink(h: HostLayout, up: boolean): Promise<void> {
  await run(['ip', 'link', 'set', h.object, up ? 'up' : 'down']);
}

/** Namespaces whose name is a testbed object (`ekt-<id>-<n>`). */
export function listTestbedNetns(): string[] {
  try {
    return readdirSync('/run/netns').filter((n) => idOfObject(n) !== undefined);
  } catch {
    return [];
  }
}

/** Links in the root namespace whose name is a testbed object (bridges, root-side veths). */
export function listTestbedLinks(): string[] {
  return readdirSync('/sys/class/net').filter((n) => idOfObject(n) !== undefined);
}

/** Deletes testbed `id`'s bridge, veths and namespaces (whatever of them exists). */
export function removeNetworkSync(id: number): void {
  const mine = (n: string): boolean => idOfObject(n) === id;
  const cmds = [
    ...listTestbedLinks()
      .filter(mine)
      .map((l) => `link del ${l}`),
    ...listTestbedNetns()
      .filter(mine)
      .map((n) => `netns del ${n}`),
  ];
  // -force: keep going past an object that vanished meanwhile.
  if (cmds.length > 0) runSync(['ip', '-force', '-batch', '-'], { input: `${cmds.join('\n')}\n`, allowFailure: true });
  const left = [...listTestbedLinks(), ...listTestbedNetns()].filter(mine);
  if (left.length > 0) throw new Error(`testbed ${id}: could not delete ${left.join(', ')}`);
}
