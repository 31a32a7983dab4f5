/**
 * The files bench/recipe-deploy.sh copies, laid out as each host's /opt/etcd tree: exactly the bytes an
 * etcd-kit bootstrap would install (same certificates, same env file with `initial-cluster-state=new`,
 * same unit), taken from etcd-kit's own prepared bundles, so the shell baseline makes etcd do the same
 * work (mTLS on, same flags). The unit sits in cfg/ (the script moves it), binaries are hard links of one
 * copy, and the admin client certificate for the health poll goes to `admin/`.
 * @module
 */
import { link, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { PreparedDeploy } from '../../src/deploy/prepare.js';
import { pkiPaths } from '../../src/pki/index.js';

/** Writes the stage under `dir` (replacing it) for every member of `prepared`; returns the member IPs in order. */
export async function writeRecipeStage(dir: string, prepared: PreparedDeploy): Promise<string[]> {
  await rm(dir, { recursive: true, force: true });
  const prefix = prepared.spec.layout.prefix;
  const shared = join(dir, 'binaries');
  await mkdir(shared, { recursive: true });
  for (const b of prepared.binaries.files) await writeFile(join(shared, b.name), b.data, { mode: 0o755 });

  const hosts: string[] = [];
  for (const m of prepared.members) {
    const host = m.spec.ssh.host;
    hosts.push(host);
    const root = join(dir, host, 'etcd');
    for (const f of m.bootstrap.files) {
      const binary = f.role === 'etcd' || f.role === 'etcdctl' || f.role === 'etcdutl';
      // The recipe's layout is flat (bin/etcd): etcd-kit's bin/<version>/ with its links would reach the
      // host through scp -r as copies of every link's target.
      const rel = binary ? `bin/${f.role}` : f.path === prepared.spec.layout.unitPath ? 'cfg/etcd.service' : relative(prefix, f.path);
      const target = join(root, rel);
      await mkdir(dirname(target), { recursive: true });
      if (binary) await link(join(shared, f.role), target);
      else await writeFile(target, f.data, { mode: f.mode });
    }
  }

  const pki = pkiPaths(prepared.spec.pki.dir);
  const admin = pki.client('admin');
  await mkdir(join(dir, 'admin'));
  await symlink(pki.caCert, join(dir, 'admin', 'ca.crt'));
  await symlink(admin.cert, join(dir, 'admin', 'admin.crt'));
  await symlink(admin.key, join(dir, 'admin', 'admin.key'));
  return hosts;
}
