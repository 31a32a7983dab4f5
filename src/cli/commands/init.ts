/**
 * `etcd-kit init`: writes the commented example cluster spec.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import type { Command } from 'commander';
import { EtcdKitError } from '../../index.js';
import { EXAMPLE_SPEC_YAML } from '../example-spec.js';
import type { CliContext } from '../io.js';

const SCHEMA_LINE = /^# yaml-language-server: \$schema=\.\/(\S+)$/m;

/**
 * The example spec for a file at `output`. Its `yaml-language-server` schema path is relative to the file and
 * names the schema in `./node_modules` of the current directory (the project): for a file in another directory
 * (`-o ops/cluster.yaml`) the path is rewritten so it still reaches it (`../node_modules/...`).
 */
export function exampleSpecFor(output: string, cwd: string = process.cwd()): string {
  return EXAMPLE_SPEC_YAML.replace(SCHEMA_LINE, (_line, path: string) => {
    const rel = relative(dirname(resolve(cwd, output)), resolve(cwd, path));
    const ref = isAbsolute(rel) || rel.startsWith(`..${sep}`) ? rel : `.${sep}${rel}`;
    return `# yaml-language-server: $schema=${ref.split(sep).join('/')}`;
  });
}

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
      await writeFile(opts.output, exampleSpecFor(opts.output), { mode: 0o644 });
      io.stdout(`wrote ${opts.output}: edit members, ssh and etcd, then run: etcd-kit plan -f ${opts.output}\n`);
    });
}
