import { createRequire } from 'node:module';

/** Runs the CLI with the given argv and resolves to the process exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const args = argv.slice(2);
  if (args.includes('--version') || args.includes('-V')) {
    const require = createRequire(import.meta.url);
    console.log((require('../package.json') as { version: string }).version);
    return 0;
  }
  console.log('etcd-kit: commands arrive with the deploy work; see README.md');
  return 0;
}
