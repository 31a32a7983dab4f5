import { startLocalCluster } from '../helpers/local-cluster.js';
import { connectCluster } from '../../src/etcd/index.js';
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
const cluster = await startLocalCluster({ size: 3 });
try {
  const h = connectCluster({ endpoints: cluster.endpoints, tls: cluster.tls });
  for (let i = 0; i < 20; i++) await h.checkHealth();
  const s = new Session(); s.connect();
  await s.post('Profiler.enable'); await s.post('Profiler.start');
  for (let i = 0; i < 300; i++) await h.checkHealth();
  const { profile } = await s.post('Profiler.stop');
  writeFileSync('/tmp/h3scratch/warm.cpuprofile', JSON.stringify(profile));
  h.close();
} finally { await cluster.close(); }
