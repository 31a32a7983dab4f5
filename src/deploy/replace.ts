/**
 * Replacing a member whose data is gone or no longer matches the cluster (decided in member-state.ts), the
 * order etcd's runtime-reconfiguration guide gives for a failed member: the others healthy first; etcd
 * stopped on its host; `member remove` through the healthy others; the data dir cleared (a non-empty one
 * moved aside, never deleted); added again as a learner and started with state=existing (exactly a join:
 * join.ts); promoted once caught up; the whole cluster healthy again before anything else happens.
 * @module
 */
import type { EtcdCluster } from '../etcd/index.js';
import { clearMemberData, stopMember } from '../remote/index.js';
import { clientUrl } from '../render/index.js';
import type { DeployRun } from './deploy-run.js';
import { joinMember } from './join.js';
import type { InspectedMember } from './cluster-plan.js';
import { memberError, remoteOptions } from './member-connections.js';
import { waitForEndpoints } from './wait-endpoints.js';

/**
 * Replaces, one at a time, the members the plan marked `replace` (the plan refused already what is not
 * safe: see `assertReplacementsSafe`). Each member's report says `replaced` and `started`; a failure names
 * the member and step `replace`. Re-running after a failure converges: a member already removed is added
 * again, a data dir already cleared stays as it is.
 */
export async function replaceMembers(ctx: DeployRun, cluster: EtcdCluster, inspected: readonly InspectedMember[]): Promise<void> {
  const { prepared, options } = ctx;
  for (const { member: m, state } of inspected.filter((i) => i.plan.service === 'replace')) {
    if (state?.kind !== 'replace') continue;
    const name = m.spec.name;
    const conn = ctx.connections.get(name)!;
    const service = { layout: prepared.spec.layout, ...remoteOptions(m, options) };
    try {
      const others = prepared.members.filter((o) => o !== m).map((o) => clientUrl(o.spec.cluster));
      options.onProgress?.({ step: 'replace', member: name, message: `${state.reason}: every other member must be healthy first` });
      await waitForEndpoints(cluster, { timeoutMs: ctx.healthTimeoutMs, signal: options.signal, endpoints: others });
      // Stopped before the removal: a crash-looping etcd must not come back in between with its old id.
      options.onProgress?.({ step: 'replace', member: name, message: 'stopping etcd' });
      await stopMember(conn, service);
      const listed = (await cluster.listMembers({ ...(options.signal ? { signal: options.signal } : {}) })).some((e) => e.id === state.memberId);
      if (listed) {
        options.onProgress?.({ step: 'replace', member: name, message: `member remove ${state.memberId}` });
        await cluster.removeMember(state.memberId, { retryTimeoutMs: ctx.healthTimeoutMs, ...(options.signal ? { signal: options.signal } : {}) });
      }
      const cleared = await clearMemberData(conn, service);
      options.onProgress?.({
        step: 'replace',
        member: name,
        message: cleared.movedAside ? `old data dir moved aside to ${cleared.movedAside}` : 'data dir empty',
      });
      // Its host changed (etcd stopped, the data dir cleared): the join reads its facts again.
      ctx.facts.delete(name);
      await joinMember(ctx, cluster, m);
      ctx.reports.get(name)!.replaced = true;
      options.onProgress?.({ step: 'wait-healthy', member: name, message: 'replaced: the whole cluster must be healthy again' });
      await waitForEndpoints(cluster, { timeoutMs: ctx.healthTimeoutMs, signal: options.signal });
    } catch (err) {
      throw memberError(m, 'replace', err);
    }
  }
}
