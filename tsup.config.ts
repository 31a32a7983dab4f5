import { defineConfig } from 'tsup';

export default defineConfig([
  {
    // The root and one entry per layer (`etcd-kit/pki`, ...). Splitting (ESM and CJS alike) puts the shared code
    // in chunks, so there is one EtcdKitError class (instanceof holds) whichever entry an error comes from.
    entry: { index: 'src/index.ts', pki: 'src/pki-entry.ts', render: 'src/render-entry.ts', remote: 'src/remote-entry.ts', etcd: 'src/etcd-entry.ts' },
    format: ['esm', 'cjs'],
    splitting: true,
    // stripInternal: what is tagged @internal (typedoc hides it too) is not in the published types.
    dts: { compilerOptions: { stripInternal: true } },
    sourcemap: true,
    clean: true,
    target: 'node20',
    platform: 'node',
    // etcd3 loads its .proto files from its own folder at run time: never bundle it (nor any dependency).
    external: ['etcd3', 'ssh2', 'node-forge'],
  },
  {
    entry: { cli: 'src/cli/main.ts' },
    format: ['esm'],
    sourcemap: true,
    clean: false,
    target: 'node20',
    platform: 'node',
    external: ['etcd3', 'ssh2', 'node-forge'],
    banner: { js: '#!/usr/bin/env node' },
  },
]);
