import { startLocalCluster } from '../helpers/local-cluster.js';
import { createEndpointClient } from '../../src/etcd/client.js';
import { withoutSocketRefs } from '../../src/etcd/socket-refs.js';
const cluster = await startLocalCluster({ size: 3 });
const med = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1]!.toFixed(1);
try {
  const cs = cluster.endpoints.map((e) => createEndpointClient(e, cluster.tls));
  const full = () => Promise.all([...cs.map((c) => Promise.all([c.get('health').exec(), c.maintenance.status()])), cs[0]!.cluster.memberList({}), cs[0]!.maintenance.alarm({ action: 'Get', memberID: 0, alarm: 'None' })]);
  await full();
  const measure = async (n: number) => { const a: number[] = []; for (let i = 0; i < n; i++) { const t = performance.now(); await full(); a.push(performance.now() - t); } return med(a); };
  const order = process.argv[2] === 'alsFirst';
  if (order) { await withoutSocketRefs(async () => undefined); console.log('ALS on ', await measure(60)); }
  else { console.log('ALS off', await measure(60)); await withoutSocketRefs(async () => undefined); console.log('ALS on ', await measure(60)); }
  cs.forEach((c) => c.close());
} finally { await cluster.close(); }
