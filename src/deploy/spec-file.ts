/**
 * Reads a cluster spec from a YAML or JSON file. Relative paths inside it are resolved against the
 * file's own directory, so `etcd-kit deploy -f ops/cluster.yaml` works from anywhere.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { EtcdKitError } from '../errors.js';
import { type ClusterSpec, type ResolveSpecOptions, resolveClusterSpec } from './resolve-spec.js';

/**
 * Loads and validates a cluster spec file (`.yaml`, `.yml` or `.json`; YAML is a superset of JSON).
 * Throws `INVALID_SPEC` for unreadable files, syntax errors (with line numbers) and every spec problem.
 *
 * @example
 * ```ts
 * const spec = await loadClusterSpecFile('cluster.yaml');
 * const result = await deployEtcdCluster(spec);
 * ```
 * @category Deploy and day 2
 */
export async function loadClusterSpecFile(path: string, options: Omit<ResolveSpecOptions, 'baseDir'> = {}): Promise<ClusterSpec> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new EtcdKitError('INVALID_SPEC', `cannot read spec file ${file}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`, {
      field: '(file)',
      cause,
    });
  }
  let data: unknown;
  try {
    data = parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (cause) {
    throw new EtcdKitError('INVALID_SPEC', `${file} is not valid YAML/JSON: ${(cause as Error).message.split('\n')[0]}`, {
      field: '(file)',
      cause,
    });
  }
  return resolveClusterSpec(data, { ...options, baseDir: dirname(file) });
}
