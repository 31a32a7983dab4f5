/**
 * File primitives of the PKI dir: tight modes, atomic writes, typed I/O errors. Internal to the PKI module.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { renameSync } from 'node:fs';
import { chmod, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { EtcdKitError } from '../errors.js';

/** Mode of private key files: owner read/write only. */
export const KEY_FILE_MODE = 0o600;
/** Mode of certificate files: public data. */
export const CERT_FILE_MODE = 0o644;
/** Mode of every directory of the PKI dir. */
export const DIR_MODE = 0o700;

/** PKI_IO naming `path`. */
export const ioError = (message: string, path: string, cause?: unknown): EtcdKitError =>
  new EtcdKitError('PKI_IO', `${message}: ${path}`, { details: { path }, cause });

/** Creates `path` (and parents) with mode 0700, tightening an existing directory too. */
export async function makeDir(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true, mode: DIR_MODE });
    await chmod(path, DIR_MODE); // mkdir's mode is masked by umask and ignored for existing dirs
  } catch (cause) {
    throw ioError('cannot create directory', path, cause);
  }
}

/** Writes `data` to a temporary file beside `path` with `mode` (umask-proof), fsyncs it, renames it over `path`. */
export function writeFileAtomic(path: string, data: string, mode: number): Promise<void> {
  return writeFilesAtomic([{ path, data, mode }]);
}

/** One file for {@link writeFilesAtomic}. */
export interface FileToWrite {
  path: string;
  data: string;
  mode: number;
}

/**
 * Writes several files so that readers see each one change at once and the whole set change within
 * microseconds: every temporary file is written and fsynced first, then all are renamed into place back
 * to back (synchronous renames: nothing else of this process runs between them), in the order given.
 * Why: a certificate and its key are two files, and a client that loads them in between sees a pair that
 * does not match. Pass each certificate before its key: Go's loaders (etcd, etcdctl, kube-apiserver) read
 * the certificate first, so a mixed pair needs a reader whose two reads both fall inside, or around, the
 * microseconds between the two renames.
 */
export async function writeFilesAtomic(files: readonly FileToWrite[]): Promise<void> {
  const temps = files.map((f) => join(dirname(f.path), `.${basename(f.path)}.${randomBytes(6).toString('hex')}.tmp`));
  const cleanUp = () => Promise.all(temps.map((t) => unlink(t).catch(() => {})));
  try {
    await Promise.all(
      files.map(async (f, i) => {
        try {
          const handle = await open(temps[i]!, 'wx', f.mode);
          try {
            await handle.chmod(f.mode);
            await handle.writeFile(f.data);
            await handle.sync();
          } finally {
            await handle.close();
          }
        } catch (cause) {
          throw ioError('cannot write file', f.path, cause);
        }
      }),
    );
  } catch (err) {
    await cleanUp();
    throw err;
  }
  let i = 0;
  try {
    for (; i < files.length; i++) renameSync(temps[i]!, files[i]!.path);
  } catch (cause) {
    await cleanUp();
    throw ioError('cannot write file', files[i]!.path, cause);
  }
}

/** fsyncs a directory so renames in it survive a crash; best effort. */
export async function syncDir(path: string): Promise<void> {
  const handle = await open(path, 'r').catch(() => undefined);
  await handle?.sync().catch(() => {}); // best effort: some filesystems refuse fsync on directories
  await handle?.close();
}

/** Reads a text file; PKI_IO naming the path when missing or unreadable. */
export async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw ioError(missing ? 'missing file' : 'cannot read file', path, cause);
  }
}

/** Reads a text file, or undefined when it does not exist. */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError('cannot read file', path, cause);
  }
}

/** Removes a file; a missing one is fine. */
export async function removeFile(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError('cannot remove file', path, cause);
  }
}

/**
 * Reads a private key file, refusing (PKI_INSECURE_PERMISSIONS, field relative to `root`) one readable by
 * group/others unless `fixPermissions`, which chmods it to 0600.
 */
export async function readKeyFile(path: string, root: string, fixPermissions: boolean): Promise<string> {
  const text = await readText(path);
  const mode = (await stat(path)).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    if (!fixPermissions) {
      const octal = `0${mode.toString(8)}`;
      throw new EtcdKitError(
        'PKI_INSECURE_PERMISSIONS',
        `private key ${path} is accessible by group/others (mode ${octal}); run chmod 600 or pass fixPermissions`,
        { field: relative(root, path), details: { path, mode: octal } },
      );
    }
    await chmod(path, KEY_FILE_MODE).catch((cause) => {
      throw ioError('cannot chmod key file', path, cause);
    });
  }
  return text;
}
