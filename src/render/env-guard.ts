/**
 * The last check before an env file is written: every variable must be one the target etcd release reads,
 * undeprecated, with no value it refuses. etcd only logs a variable it does not know, so a wrong name would
 * lose its setting silently; this turns that into an exception at render time.
 * @module
 */
import type { EnvSection } from './env-file.js';
import { etcdFatalValue, type ResolvedEtcdVersion } from './etcd-versions.js';

/**
 * Throws (a plain `Error`: this is an etcd-kit bug, never bad input) unless every entry of `sections` is a
 * variable release `v` lists, not deprecated, written once, with no value etcd refuses at start, and every gate
 * in `ETCD_FEATURE_GATES` is one the release knows.
 */
export function assertEnvForEtcdVersion(v: ResolvedEtcdVersion, sections: readonly EnvSection[]): void {
  const seen = new Set<string>();
  for (const { entries } of sections) {
    for (const [name, value] of entries) {
      const bug = (why: string): Error => new Error(`etcd-kit bug: refusing to render ${name}="${value}" for etcd ${v.text}: ${why}`);
      if (seen.has(name)) throw bug('written twice');
      seen.add(name);
      if (!v.envVars.has(name)) throw bug('this release does not read it (etcd would only log it and lose the setting)');
      if (v.deprecatedEnvVars.has(name)) throw bug('this release deprecates it');
      const fatal = etcdFatalValue(v, name, value);
      if (fatal) throw bug(fatal.why);
      if (name === 'ETCD_FEATURE_GATES') {
        for (const pair of value.split(',')) {
          const [gate, on] = pair.split('=');
          if (!gate || !v.featureGates.has(gate) || (on !== 'true' && on !== 'false')) throw bug(`unknown feature gate entry '${pair}'`);
        }
      }
    }
  }
}
