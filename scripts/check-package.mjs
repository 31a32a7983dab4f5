// Checks the package as a consumer sees it: publint (package.json/exports sanity) and
// @arethetypeswrong (types resolve for import and require under every module resolution).
import { execFileSync } from 'node:child_process';

const run = (cmd, args) => {
  console.log(`$ ${cmd} ${args.join(' ')}`);
  execFileSync(cmd, args, { stdio: 'inherit' });
};
run('npx', ['publint', '--strict']);
// The CLI entry is ESM-only on purpose (a bin is never required), so it is not part of the checked exports.
run('npx', ['attw', '--pack', '.', '--profile', 'node16']);
