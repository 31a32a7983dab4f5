/**
 * CPU time the testbed hosts used (everything in their cgroups: sshd, sftp-server, systemd, etcd), read
 * from cgroup v2 `cpu.stat`. On this shared 2-core machine wall times swing with other processes' load;
 * CPU time is the work a run made the machine do, which moves far less.
 * @module
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cgroupRoots } from '../../test/testbed/cgroups.js';
import type { Testbed } from '../../test/testbed/index.js';
import { hostLayout } from '../../test/testbed/layout.js';

/** Sum of `usage_usec` over the testbed's hosts, in ms; undefined when cgroup v2 accounting is not there. */
export function hostsCpuMs(tb: Testbed): number | undefined {
  const unified = cgroupRoots().at(-1);
  if (unified === undefined) return undefined;
  try {
    let usec = 0;
    for (let n = 1; n <= tb.hosts.length; n++) {
      const stat = readFileSync(join(unified, hostLayout(tb.id, n).object, 'cpu.stat'), 'utf8');
      usec += Number(/^usage_usec (\d+)$/m.exec(stat)?.[1] ?? Number.NaN);
    }
    return Number.isNaN(usec) ? undefined : usec / 1000;
  } catch {
    return undefined;
  }
}
