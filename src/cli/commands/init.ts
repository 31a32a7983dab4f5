/**
 * `etcd-kit init`: writes the commented example cluster spec.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { EXAMPLE_SPEC_YAML, EtcdKitError } from '../../index.js';
import type { CliContext } from '../io.js';

/** Registers `init` on `program`. */
export function registerInit(program: Command, { io }: CliContext): void {
  program
    .command('init')
    .description('write a commented example cluster spec')
    .option('-o, --output <file>', 'where to write it', 'cluster.yaml')
    .option('--force', 'overwrite an existing file')
    .action(async (opts: { output: string; force?: boolean }) => {
      if (existsSync(opts.output) && !opts.force) {
        throw new EtcdKitError('INVALID_ARGUMENT', `${opts.output} exists (use --force to overwrite)`, { field: 'output' });
      }
      await writeFile(opts.output, EXAMPLE_SPEC_YAML, { mode: 0o644 });
      io.stdout(`wrote ${opts.output}: edit members, ssh and etcd, then run: etcd-kit plan -f ${opts.output}\n`);
    });
}
