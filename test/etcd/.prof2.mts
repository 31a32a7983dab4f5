import { startLocalCluster } from '../helpers/local-cluster.js';
import { createEndpointClient } from '../../src/etcd/client.js';
import { connectCluster } from '../../src/etcd/index.js';
const cluster = await startLocalCluster({ size: 3 });
const med = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1]!.toFixed(1);
try {
  const cs = cluster.endpoints.map((e) => createEndpointClient(e, cluster.tls));
  await Promise.all(cs.map((c) => c.get('x').exec()));
  const variants: Record<string, () => Promise<unknown>> = {
    get: () => Promise.all(cs.map((c) => c.get('health').exec())),
    'get+status': () => Promise.all(cs.map((c) => Promise.all([c.get('health').exec(), c.maintenance.status()]))),
    'get+status+members1': () => Promise.all([...cs.map((c) => Promise.all([c.get('health').exec(), c.maintenance.status()])), cs[0]!.cluster.memberList({})]),
    'alarm1': () => cs[0]!.maintenance.alarm({ action: 'Get', memberID: 0, alarm: 'None' }),
    'serializable get1': () => cs[0]!.get('health').serializable(true).exec(),
    'full': () => Promise.all([...cs.map((c) => Promise.all([c.get('health').exec(), c.maintenance.status()])), cs[0]!.cluster.memberList({}), cs[0]!.maintenance.alarm({ action: 'Get', memberID: 0, alarm: 'None' })]),
  };
  const h = connectCluster({ endpoints: cluster.endpoints, tls: cluster.tls }); await h.checkHealth();
  variants['handle'] = () => h.checkHealth();
  const res: Record<string, number[]> = {};
  for (let i = 0; i < 30; i++) for (const [k, f] of Object.entries(variants)) { const t = performance.now(); await f(); (res[k] ??= []).push(performance.now() - t); }
  for (const [k, v] of Object.entries(res)) console.log(k.padEnd(22), med(v));
  cs.forEach((c) => c.close());
} finally { await cluster.close(); }
