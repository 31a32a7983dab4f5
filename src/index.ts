/**
 * etcd-kit: take bare Linux hosts to a secure, verified etcd cluster and keep it healthy.
 *
 * Layers (arrows point one way): `pki` and `render` are pure; `remote` (SSH) and `etcd` (client) use
 * them; `deploy` orchestrates; the CLI is a thin shell over this barrel.
 * @module
 */
export * from './errors.js';
export * from './pki/index.js';
export * from './render/index.js';
export * from './remote/index.js';
export * from './etcd/index.js';
export * from './deploy/index.js';
