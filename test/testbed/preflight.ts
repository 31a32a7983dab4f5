import { accessSync, constants } from 'node:fs';
import { SYSTEM_PATH } from './run.js';

/** Throws a clear error unless this process is root and `tools` are installed. */
export function preflight(tools: readonly string[]): void {
  if (process.getuid?.() !== 0) {
    throw new Error(
      'the etcd-kit testbed needs root (it runs systemd-nspawn, network namespaces and mounts); run the tests as root',
    );
  }
  const missing = tools.filter(
    (tool) =>
      !SYSTEM_PATH.split(':').some((dir) => {
        try {
          accessSync(`${dir}/${tool}`, constants.X_OK);
          return true;
        } catch {
          return false;
        }
      }),
  );
  if (missing.length > 0) {
    throw new Error(`the testbed needs ${missing.join(', ')}: run scripts/install-system-deps.sh (as root)`);
  }
}
