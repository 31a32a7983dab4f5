// The two progress renderers: plain lines for logs (one per step change), a redrawn block on a TTY.
import { describe, expect, it } from 'vitest';
import { formatBytes, formatHealth } from '../../src/cli/format.js';
import { liveProgress, plainProgress } from '../../src/cli/progress.js';
import type { ClusterHealth } from '../../src/index.js';

describe('plainProgress', () => {
  it('prints one line per step change per member, an upload once per file', () => {
    const lines: string[] = [];
    const view = plainProgress((l) => lines.push(l));
    view.onProgress({ step: 'connect', member: 'etcd01' });
    view.onProgress({ step: 'upload', member: 'etcd01', file: '/opt/etcd/bin/etcd', bytes: 0, totalBytes: 100 });
    view.onProgress({ step: 'upload', member: 'etcd01', file: '/opt/etcd/bin/etcd', bytes: 50, totalBytes: 100 });
    view.onProgress({ step: 'upload', member: 'etcd01', file: '/opt/etcd/bin/etcd', bytes: 100, totalBytes: 100 });
    view.onProgress({ step: 'wait-healthy', message: 'electing' });
    view.onProgress({ step: 'wait-healthy', message: 'electing' });
    view.close();
    expect(lines).toEqual(['etcd01     connect', 'etcd01     upload /opt/etcd/bin/etcd', 'cluster    wait-healthy: electing']);
  });
});

describe('liveProgress', () => {
  it('redraws one line per member in place', async () => {
    let out = '';
    const write = (t: string) => {
      out += t;
      return true;
    };
    const stream = { columns: 80, write } as unknown as NodeJS.WriteStream;
    const view = liveProgress(stream);
    view.onProgress({ step: 'connect', member: 'etcd01' });
    view.onProgress({ step: 'connect', member: 'etcd02' });
    await new Promise((r) => setTimeout(r, 80));
    view.onProgress({ step: 'upload', member: 'etcd01', file: '/opt/etcd/bin/etcd', bytes: 1536, totalBytes: 3072 });
    view.close();
    expect(out).toContain('etcd01     connect');
    expect(out).toContain('\x1b[2F'); // moved up over the two lines drawn before
    expect(out).toContain('etcd01     upload /opt/etcd/bin/etcd 1.5 KiB/3.0 KiB');
  });
});

describe('format', () => {
  it('formats sizes and the health table', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(2 * 1024 * 1024)).toBe('2.0 MiB');
    const health = {
      healthy: false,
      verdict: 'unavailable',
      error: { code: 'ETCD_NO_QUORUM', message: 'no quorum' },
      leader: null,
      quorum: { votingMembers: 3, needed: 2, healthyVoters: 1 },
      members: [],
      endpoints: [
        { endpoint: 'https://10.0.0.11:2379', healthy: true, tookMs: 3.2, memberName: 'etcd01' },
        { endpoint: 'https://10.0.0.12:2379', healthy: false, tookMs: 2000, error: { code: 'ETCD_TIMEOUT', message: 't' } },
      ],
      alarms: [{ memberId: 'a1', alarm: 'NOSPACE', memberName: 'etcd01' }],
      tookMs: 2001,
    } as ClusterHealth;
    const text = formatHealth(health);
    expect(text).toMatch(/https:\/\/10\.0\.0\.12:2379\s+false \(ETCD_TIMEOUT\)/);
    expect(text).toContain('cluster is UNAVAILABLE (no quorum): ETCD_NO_QUORUM (no quorum)');
    expect(text).toContain('alarm NOSPACE on etcd01');
  });

  it('shows the verdict: healthy, or degraded naming the members that do not answer', () => {
    const base = {
      healthy: true,
      leader: { id: 'a1', name: 'etcd01' },
      members: [],
      alarms: [],
      tookMs: 3,
    };
    const ok = { endpoint: 'https://10.0.0.11:2379', healthy: true, tookMs: 1, memberName: 'etcd01' };
    const healthy = { ...base, verdict: 'healthy', quorum: { votingMembers: 2, needed: 2, healthyVoters: 2 }, endpoints: [ok, { ...ok, endpoint: 'https://10.0.0.12:2379', memberName: 'etcd02' }] } as ClusterHealth;
    expect(formatHealth(healthy)).toContain('cluster is healthy: 2/2 voting members answered, leader etcd01');
    const degraded = {
      ...base,
      verdict: 'degraded',
      quorum: { votingMembers: 3, needed: 2, healthyVoters: 2 },
      endpoints: [ok, { endpoint: 'https://10.0.0.13:2379', healthy: false, tookMs: 1, memberName: 'etcd03', error: { code: 'ETCD_UNREACHABLE', message: 'refused' } }],
    } as ClusterHealth;
    expect(formatHealth(degraded)).toContain('cluster is DEGRADED (quorum, but not every member answers): 2/3 voting members answered, leader etcd01; not answering: etcd03 (ETCD_UNREACHABLE)');
  });
});
