import { describe, expect, it } from 'vitest';
import { envNeedsRestart, envRestartChanges } from '../../src/render/index.js';
import { renderEtcdEnv } from '../../src/index.js';

const three = [
  { name: 'etcd01', address: '10.0.0.11' },
  { name: 'etcd02', address: '10.0.0.12' },
  { name: 'etcd03', address: '10.0.0.13' },
];
const env = (over: Partial<Parameters<typeof renderEtcdEnv>[0]> = {}) =>
  renderEtcdEnv({ member: 'etcd01', members: three, token: 'etcd-test', state: 'existing', ...over });

describe('envNeedsRestart', () => {
  it('ignores settings etcd reads only with an empty data dir', () => {
    expect(envNeedsRestart(env({ state: 'new' }), env())).toBe(false);
    expect(envNeedsRestart(env(), env({ members: [...three, { name: 'etcd04', address: '10.0.0.14' }] }))).toBe(false);
    expect(envNeedsRestart(env({ token: 'old-token' }), env())).toBe(false);
  });

  it('sees every other change', () => {
    expect(envNeedsRestart(env(), env())).toBe(false);
    expect(envNeedsRestart(env(), env({ settings: { snapshotCount: 20_000 } }))).toBe(true);
    expect(envNeedsRestart(env({ settings: { heartbeatMs: 200, electionMs: 2000 } }), env())).toBe(true);
  });

  it('treats a missing or unparseable host file as needing a restart', () => {
    expect(envNeedsRestart(undefined, env())).toBe(true);
    expect(envNeedsRestart('this is not an env file\n"', env())).toBe(true);
  });
});

describe('envRestartChanges', () => {
  it('names the settings that changed, sorted, and nothing for bootstrap-only ones', () => {
    expect(envRestartChanges(env(), env({ settings: { snapshotCount: 20_000, heartbeatMs: 200, electionMs: 2000 } }))).toEqual([
      'ETCD_ELECTION_TIMEOUT',
      'ETCD_HEARTBEAT_INTERVAL',
      'ETCD_SNAPSHOT_COUNT',
    ]);
    expect(envRestartChanges(env({ state: 'new', token: 'x' }), env())).toEqual([]);
    expect(envRestartChanges(undefined, env())).toBeUndefined();
  });
});
