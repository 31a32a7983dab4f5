import { beforeAll, describe, expect, it } from 'vitest';
import { type EtcdKitError, isEtcdKitError } from '../../src/errors.js';
import {
  addMember,
  checkHealth,
  connectCluster,
  createEtcdClient,
  type EtcdTlsOptions,
  promoteMember,
  waitForHealthy,
} from '../../src/etcd/index.js';
import { parseEndpointUrl } from '../../src/etcd/options.js';
import { createCA, signClientCert } from '../../src/pki/index.js';

let tls: EtcdTlsOptions;
let otherKeyPem: string;

beforeAll(async () => {
  const ca = await createCA({ keyAlgorithm: 'ecdsa-p256' });
  const [admin, other] = await Promise.all([
    signClientCert(ca, { commonName: 'admin' }),
    signClientCert(ca, { commonName: 'other' }),
  ]);
  tls = { caPem: ca.certPem, certPem: admin.certPem, keyPem: admin.keyPem };
  otherKeyPem = other.keyPem;
});

function invalid(fn: () => unknown): EtcdKitError {
  try {
    fn();
  } catch (err) {
    if (isEtcdKitError(err, 'INVALID_ARGUMENT')) return err;
    throw err;
  }
  throw new Error('expected INVALID_ARGUMENT');
}

async function rejected(p: Promise<unknown>): Promise<EtcdKitError> {
  try {
    await p;
  } catch (err) {
    if (isEtcdKitError(err)) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('endpoint validation', () => {
  it('refuses http:// with a clear message naming the field', () => {
    const err = invalid(() => connectCluster({ endpoints: ['https://10.0.0.1:2379', 'http://10.0.0.2:2379'], tls }));
    expect(err.field).toBe('endpoints[1]');
    expect(err.message).toContain('http://');
    expect(err.message).toContain('https://');
  });

  it.each([
    [[], 'endpoints'],
    [['10.0.0.1:2379'], 'endpoints[0]'],
    [['unix:///run/etcd.sock'], 'endpoints[0]'],
    [['https://user:pw@10.0.0.1:2379'], 'endpoints[0]'],
    [['https://10.0.0.1:2379/v3'], 'endpoints[0]'],
    [['https://10.0.0.1:2379', 'https://10.0.0.1:2379/'], 'endpoints[1]'],
  ])('refuses %j (field %s)', (endpoints, field) => {
    expect(invalid(() => connectCluster({ endpoints, tls })).field).toBe(field);
  });

  it('accepts IPs, names and IPv6, defaulting the port to 2379 and keeping an explicit :443', () => {
    const cluster = connectCluster({
      endpoints: ['https://10.0.0.1:2379', 'https://etcd02.lan', 'https://[fd00::3]:2379', 'https://10.0.0.4:443'],
      tls,
    });
    try {
      expect(cluster.endpoints).toEqual([
        'https://10.0.0.1:2379',
        'https://etcd02.lan:2379',
        'https://[fd00::3]:2379',
        'https://10.0.0.4:443',
      ]);
    } finally {
      cluster.close();
    }
  });
});

describe('parseEndpointUrl (the one-connection probes)', () => {
  it('reads host and port by the endpoints\' rules: default 2379, explicit :443 kept, IPv6 without brackets', () => {
    expect(parseEndpointUrl('https://10.0.0.1')).toMatchObject({ host: '10.0.0.1', port: 2379 });
    expect(parseEndpointUrl('https://10.0.0.1:443')).toMatchObject({ host: '10.0.0.1', port: 443 });
    expect(parseEndpointUrl('https://[fd00::3]:2380')).toMatchObject({ host: 'fd00::3', port: 2380 });
  });

  it('refuses what is no https URL, naming the field', () => {
    expect(invalid(() => parseEndpointUrl('10.0.0.1:2379')).field).toBe('endpoint');
    expect(invalid(() => parseEndpointUrl('http://10.0.0.1:2379', 'url')).field).toBe('url');
  });
});

describe('TLS material validation', () => {
  it.each([
    ['caPem', 'tls.caPem'],
    ['certPem', 'tls.certPem'],
    ['keyPem', 'tls.keyPem'],
  ] as const)('refuses a missing %s', (key, field) => {
    const broken = { ...tls, [key]: '' };
    expect(invalid(() => createEtcdClient({ endpoints: ['https://10.0.0.1:2379'], tls: broken })).field).toBe(field);
  });

  it('refuses a key that does not belong to the certificate, without quoting the key', () => {
    const err = invalid(() => connectCluster({ endpoints: ['https://10.0.0.1:2379'], tls: { ...tls, keyPem: otherKeyPem } }));
    expect(err.field).toBe('tls.keyPem');
    expect(err.message).not.toContain('PRIVATE KEY');
  });

  it('refuses garbage where a PEM certificate belongs', () => {
    const err = invalid(() =>
      connectCluster({
        endpoints: ['https://10.0.0.1:2379'],
        tls: { ...tls, caPem: '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n' },
      }),
    );
    expect(err.field).toBe('tls.caPem');
  });
});

describe('option validation of the one-shot functions (before any connection)', () => {
  const endpoints = ['https://10.0.0.1:2379'];

  it.each([
    ['timeoutMs', () => checkHealth({ endpoints, tls, timeoutMs: 0 })],
    ['timeoutMs', () => waitForHealthy({ endpoints, tls, timeoutMs: -5 })],
    ['intervalMs', () => waitForHealthy({ endpoints, tls, intervalMs: Number.NaN })],
    ['mustAnswer', () => waitForHealthy({ endpoints, tls, mustAnswer: 'most' as 'all' })],
    ['peerUrls', () => addMember({ endpoints, tls, peerUrls: [] })],
    ['peerUrls[0]', () => addMember({ endpoints, tls, peerUrls: ['http://10.0.0.9:2380'] })],
    ['id', () => promoteMember({ endpoints, tls, id: '0' })],
    ['id', () => promoteMember({ endpoints, tls, id: '12345678901234567' })],
    ['retryTimeoutMs', () => promoteMember({ endpoints, tls, id: 'abc', retryTimeoutMs: -1 })],
  ])('rejects a bad %s', async (field, run) => {
    const err = await rejected(run());
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.field).toBe(field);
  });

  it('rejects an already aborted signal with ABORTED', async () => {
    const err = await rejected(checkHealth({ endpoints, tls, signal: AbortSignal.abort() }));
    expect(err.code).toBe('ABORTED');
  });
});
