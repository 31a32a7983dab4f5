import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { factsScript, parseFacts } from '../../src/remote/facts.js';
import {
  FIREWALL_RULE_COMMENT,
  firewallCloseScript,
  parseFirewall,
  parseNftInputChains,
  planFirewall,
} from '../../src/remote/firewall.js';

const run = promisify(execFile);

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'etcd-kit-firewall-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('firewall detection', () => {
  it('finds nftables input chains with a drop policy and our rule', () => {
    const ruleset = `table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		tcp dport { 2379, 2380 } accept comment "etcd-kit"
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
	}
	chain output {
		type filter hook output priority filter; policy accept;
	}
}
table ip nat {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
	}
}
table ip6 lockdown {
	chain in {
		type filter hook input priority 0; policy drop;
	}
}`.split('\n');
    expect(parseNftInputChains(ruleset)).toEqual([
      { family: 'inet', table: 'filter', chain: 'input', etcdKitRule: { ports: [2379, 2380] } },
      { family: 'ip6', table: 'lockdown', chain: 'in' },
    ]);
    expect(parseNftInputChains(['table inet filter {', '\tchain input {', '\t\ttype filter hook input priority 0; policy accept;', '\t}', '}'])).toEqual([]);
  });

  it('reads `nft -a` handles; a policy-accept chain ending in a drop or reject blocks too', () => {
    const ruleset = `table inet filter { # handle 1
	chain input { # handle 1
		type filter hook input priority filter; policy accept;
		iif "lo" accept # handle 4
		tcp dport 2379 accept comment "etcd-kit" # handle 11
		ip saddr 192.0.2.7 drop # handle 5
		counter packets 3 bytes 180 log prefix "in-drop: " reject with icmpx admin-prohibited # handle 6
	}
}
table ip quiet { # handle 2
	chain in { # handle 1
		type filter hook input priority 0; policy accept;
		tcp dport 80 drop # handle 2
	}
}
table bridge br { # handle 3
	chain in { # handle 1
		type filter hook input priority 0; policy drop;
	}
}`.split('\n');
    // ip quiet only drops port 80 (a conditional rule): not blocking. Bridge tables are not ours to open.
    expect(parseNftInputChains(ruleset)).toEqual([
      { family: 'inet', table: 'filter', chain: 'input', finalRuleHandle: 6, etcdKitRule: { ports: [2379], handle: 11 } },
    ]);
  });

  it('an nft that cannot list the ruleset is reported, not taken for "no firewall"', () => {
    const fw = parseFirewall([], [], [], 'Error: Operation not permitted');
    expect(fw.nftables).toEqual([]);
    expect(fw.nftablesError).toBe('Error: Operation not permitted');
    expect(parseFirewall([], [], []).nftablesError).toBeUndefined();
  });

  it('reads firewalld ports and ufw rules', () => {
    const fw = parseFirewall(
      ['active', '2379/tcp 8080/udp 2380/tcp'],
      ['Status: active', '', 'To                         Action      From', '2379/tcp                   ALLOW       Anywhere', '22/tcp ALLOW Anywhere'],
      [],
    );
    expect(fw.firewalld).toEqual({ active: true, openPorts: [2379, 2380] });
    expect(fw.ufw).toEqual({ active: true, allowedPorts: [2379, 22] });
    const off = parseFirewall([], ['Status: inactive'], []);
    expect(off.firewalld.active).toBe(false);
    expect(off.ufw.active).toBe(false);
  });
});

describe('planFirewall', () => {
  const none = { firewalld: { active: false, openPorts: [] }, ufw: { active: false, allowedPorts: [] }, nftables: [] };

  it('opens ports in firewalld (runtime and permanent), never stops it', () => {
    const plan = planFirewall({ ...none, firewalld: { active: true, openPorts: [2380] } }, [2379, 2380]);
    expect(plan).toMatchObject({ kind: 'firewalld', opens: [2379], persistent: true });
    expect(plan.commands).toEqual([
      'firewall-cmd --permanent --add-port=2379/tcp >/dev/null',
      'firewall-cmd --add-port=2379/tcp >/dev/null',
    ]);
    expect(planFirewall({ ...none, firewalld: { active: true, openPorts: [2379, 2380] } }, [2379, 2380]).commands).toEqual([]);
  });

  it('prefers firewalld over ufw, ufw over nftables', () => {
    const nft = [{ family: 'inet', table: 'filter', chain: 'input' }];
    const all = { firewalld: { active: true, openPorts: [] }, ufw: { active: true, allowedPorts: [] }, nftables: nft };
    expect(planFirewall(all, [2379]).kind).toBe('firewalld');
    expect(planFirewall({ ...all, firewalld: { active: false, openPorts: [] } }, [2379]).kind).toBe('ufw');
    expect(planFirewall({ ...none, nftables: nft }, [2379]).kind).toBe('nftables');
  });

  it('allows ports in ufw; one tagged rule per blocking nftables chain, after the admin\'s own rules (live only)', () => {
    expect(planFirewall({ ...none, ufw: { active: true, allowedPorts: [] } }, [2379, 2380]).commands).toEqual([
      'ufw allow 2379/tcp comment etcd-kit >/dev/null',
      'ufw allow 2380/tcp comment etcd-kit >/dev/null',
    ]);
    const plan = planFirewall(
      {
        ...none,
        nftables: [
          // policy drop: appended at the end
          { family: 'inet', table: 'filter', chain: 'input' },
          // policy accept + a final reject (handle 9): inserted right before it
          { family: 'ip', table: 'host', chain: 'in', finalRuleHandle: 9 },
          // ours already, same ports: left alone
          { family: 'ip', table: 'other', chain: 'in', etcdKitRule: { ports: [2380, 2379], handle: 4 } },
        ],
      },
      [2379, 2380],
    );
    expect(plan).toMatchObject({ kind: 'nftables', persistent: false, opens: [2379, 2380] });
    expect(plan.commands).toEqual([
      `nft 'add rule inet filter input tcp dport { 2379, 2380 } accept comment "etcd-kit"'`,
      `nft 'insert rule ip host in position 9 tcp dport { 2379, 2380 } accept comment "etcd-kit"'`,
    ]);
    expect(planFirewall(none, [2379]).commands).toEqual([]);
  });

  it('replaces its nftables rule when etcd\'s ports change, so the old port closes', () => {
    const nftables = [{ family: 'inet', table: 'filter', chain: 'input', finalRuleHandle: 12, etcdKitRule: { ports: [2379, 2380], handle: 7 } }];
    const plan = planFirewall({ ...none, nftables }, [12379, 2380]);
    expect(plan.opens).toEqual([12379]);
    expect(plan.commands).toEqual([`nft 'replace rule inet filter input handle 7 tcp dport { 12379, 2380 } accept comment "etcd-kit"'`]);
  });

  it('changes nothing and warns when nft cannot read the ruleset', () => {
    const plan = planFirewall({ ...none, nftables: [], nftablesError: 'Operation not permitted' }, [2379, 2380]);
    expect(plan).toMatchObject({ kind: 'unknown', opens: [], commands: [] });
    expect(plan.warning).toMatch(/Operation not permitted.*2379, 2380/);
    // A firewall etcd-kit can read still wins.
    expect(planFirewall({ ...none, ufw: { active: true, allowedPorts: [] }, nftablesError: 'x' }, [2379]).kind).toBe('ufw');
  });
});

describe('one marker for the rules etcd-kit adds', () => {
  const none = { firewalld: { active: false, openPorts: [] }, ufw: { active: false, allowedPorts: [] }, nftables: [] };

  it('every command that opens a port carries it', () => {
    const ufw = planFirewall({ ...none, ufw: { active: true, allowedPorts: [] } }, [2379]);
    const nft = planFirewall({ ...none, nftables: [{ family: 'inet', table: 'filter', chain: 'input' }] }, [2379]);
    expect(ufw.commands).toEqual([`ufw allow 2379/tcp comment ${FIREWALL_RULE_COMMENT} >/dev/null`]);
    expect(nft.commands[0]).toContain(`comment "${FIREWALL_RULE_COMMENT}"`);
  });

  it('the rule install adds is found again by the facts and deleted by the close script, nothing else', async () => {
    // A stand-in nft: lists a ruleset holding the rule planFirewall adds (and an admin's rule), logs deletions.
    const rule = planFirewall({ ...none, nftables: [{ family: 'inet', table: 'filter', chain: 'input' }] }, [2379, 2380]);
    const added = /^nft '(?:add rule inet filter input )(.*)'$/.exec(rule.commands[0] ?? '')?.[1] ?? '';
    expect(added).not.toBe('');
    const ruleset = [
      'table inet filter { # handle 1',
      '\tchain input { # handle 1',
      '\t\ttype filter hook input priority filter; policy drop;',
      '\t\ttcp dport 22 accept comment "ssh" # handle 3',
      `\t\t${added} # handle 7`,
      '\t}',
      '}',
    ].join('\n');
    const bin = join(dir, 'nft-bin');
    const log = join(dir, 'nft.log');
    await run('mkdir', ['-p', bin]);
    await writeFile(join(dir, 'ruleset'), `${ruleset}\n`);
    await writeFile(
      join(bin, 'nft'),
      `#!/bin/sh\nif [ "$1 $2 $3" = "-a list ruleset" ]; then cat ${JSON.stringify(join(dir, 'ruleset'))}; exit 0; fi\necho "$*" >>${JSON.stringify(log)}\n`,
      { mode: 0o755 },
    );
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };

    const facts = parseFacts(
      (await run('/bin/sh', ['-c', factsScript({ files: [], dirs: [], unitName: 'etcd-kit-test-nonexistent.service', serviceUser: 'root', serviceGroup: 'root', hashCacheFile: join(dir, 'cache', 'sums') })], { env })).stdout,
    );
    expect(facts.firewall.nftables).toEqual([{ family: 'inet', table: 'filter', chain: 'input', etcdKitRule: { ports: [2379, 2380], handle: 7 } }]);
    expect(planFirewall(facts.firewall, [2379, 2380]).commands).toEqual([]);

    const { stdout } = await run('/bin/sh', ['-c', `set -eu\n${firewallCloseScript().join('\n')}\n`], { env });
    expect(stdout).toBe('@firewall inet filter input\n');
    expect(await readFile(log, 'utf8')).toBe('delete rule inet filter input handle 7\n');
  });
});
