/**
 * `etcd-kit pki inspect`: every certificate of a PKI dir with its SANs and expiry, and a CA rotation under way.
 *
 * @module
 */
import type { Command } from 'commander';
import { DEFAULT_PKI_DIR, inspectPkiDir, type PkiDirCertificate } from '../../index.js';
import { EXIT } from '../exit-codes.js';
import { table } from '../format.js';
import type { CliContext } from '../io.js';

function usage(i: PkiDirCertificate): string {
  return i.role === 'ca' ? 'CA' : i.role === 'next-ca' ? 'CA (next)' : i.role === 'retired-ca' ? 'CA (retired)' : i.extendedKeyUsage.join('+');
}

/** The certificate table. */
function certificateTable(infos: PkiDirCertificate[]): string {
  return table(
    ['FILE', 'SUBJECT', 'SANS', 'USAGE', 'EXPIRES', 'DAYS LEFT'],
    infos.map((i) => [i.file, i.subject.commonName ?? '', [...i.sans.ip, ...i.sans.dns].join(',') || '-', usage(i), i.notAfter.toISOString().slice(0, 10), String(i.daysLeft)]),
  );
}

/** Registers `inspect` on the `pki` command. */
export function registerPkiInspect(pki: Command, { io, setExit }: CliContext): void {
  pki
    .command('inspect')
    .description('list every certificate with its SANs and expiry')
    .option('-d, --dir <dir>', 'PKI dir', DEFAULT_PKI_DIR)
    .option('--json', 'machine-readable output')
    .option('--warn-days <days>', `exit ${EXIT.certExpiring} when a certificate expires within this many days`, Number)
    .action(async (opts: { dir: string; json?: boolean; warnDays?: number }) => {
      const { certificates: infos, rotation } = await inspectPkiDir(opts.dir);
      if (opts.json) io.stdout(`${JSON.stringify(infos, null, 2)}\n`);
      else {
        io.stdout(`${certificateTable(infos)}\n`);
        if (rotation && rotation.phase !== 'done') {
          const done = rotation.membersDone[rotation.phase];
          io.stdout(`CA rotation in progress since ${rotation.startedAt}: phase ${rotation.phase}, members done with it: ${done.join(', ') || 'none'}\n`);
        } else if (rotation) {
          io.stdout(`last CA rotation finished ${rotation.finishedAt}; the old CA is kept in ${rotation.retiredDir}\n`);
        }
      }
      // Retired CAs may expire without harm: they sign nothing any more.
      const live = infos.filter((i) => i.role !== 'retired-ca');
      if (opts.warnDays !== undefined && live.some((i) => i.daysLeft < opts.warnDays!)) setExit(EXIT.certExpiring);
    });
}
