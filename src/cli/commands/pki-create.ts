/**
 * `etcd-kit pki create`: creates the PKI dir for a spec, or completes an existing one.
 *
 * @module
 */
import type { Command } from 'commander';
import { ensureClusterPki, loadClusterSpecFile } from '../../index.js';
import type { CliContext } from '../io.js';

/** Registers `create` on the `pki` command. */
export function registerPkiCreate(pki: Command, { io }: CliContext): void {
  pki
    .command('create')
    .description('create the PKI dir for a spec, or complete an existing one')
    .requiredOption('-f, --file <spec>', 'cluster spec (YAML or JSON)')
    .action(async (opts: { file: string }) => {
      const spec = await loadClusterSpecFile(opts.file);
      const outcome = await ensureClusterPki(spec);
      const issued = [...outcome.issuedMembers.map((m) => `member ${m}`), ...outcome.issuedClients.map((c) => `client ${c}`)];
      io.stdout(`${spec.pki.dir}: ${outcome.createdCa ? 'created CA; ' : ''}${issued.length ? `issued ${issued.join(', ')}` : 'nothing to issue'}\n`);
    });
}
