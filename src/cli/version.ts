/**
 * The package version `etcd-kit --version` prints.
 *
 * @module
 */
import { createRequire } from 'node:module';

/** The `version` of etcd-kit's package.json, found from the bundle (dist/) and from the sources (src/cli/). */
export function version(): string {
  const require = createRequire(import.meta.url);
  for (const path of ['../package.json', '../../package.json']) {
    try {
      return (require(path) as { version: string }).version;
    } catch {
      // try the next location (dist/ vs src/cli/)
    }
  }
  return '0.0.0';
}
