import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from './run.js';
import { fingerprintOf } from './disk.js';
import { hostLayout, idOfObject, testbedLayout } from './layout.js';
import { bookwormMirrorIn, resolveTestbedOptions } from './options.js';

describe('testbed options', () => {
  it('fills defaults and rejects impossible host counts and ids', () => {
    const o = resolveTestbedOptions({ cacheDir: '/tmp/c', mirror: 'http://m/debian' });
    expect(o).toMatchObject({ hosts: 3, id: undefined, bootTimeoutMs: 60_000, persistent: false, cacheDir: '/tmp/c' });
    expect(() => resolveTestbedOptions({ hosts: 0 })).toThrow(/hosts must be 1–50/);
    expect(() => resolveTestbedOptions({ hosts: 2.5 })).toThrow(/hosts/);
    expect(() => resolveTestbedOptions({ id: 255 })).toThrow(/id must be 1–254/);
  });

  it('finds the bookworm mirror in deb822 and one-line apt sources, skipping security and other suites', () => {
    const deb822 = [
      'Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\nComponents: main',
      'Types: deb\n# a comment\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\nComponents: main',
    ].join('\n\n');
    expect(bookwormMirrorIn(deb822, true)).toBe('http://mirror.example/debian');
    const oneLine = 'deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\ndeb [arch=amd64] http://ftp.example/debian bookworm main\n';
    expect(bookwormMirrorIn(oneLine, false)).toBe('http://ftp.example/debian');
    expect(bookwormMirrorIn('deb http://ftp.example/debian bullseye main', false)).toBeUndefined();
  });
});

describe('testbed layout', () => {
  it('derives names and addresses from the id and host number, and maps object names back to ids', () => {
    expect(testbedLayout(7)).toMatchObject({ bridge: 'ekt-br7', gatewayIp: '10.99.7.1', subnet: '10.99.7.0/24', unusedIp: '10.99.7.254' });
    expect(hostLayout(7, 2)).toMatchObject({ name: 'node2', object: 'ekt-7-2', ip: '10.99.7.12', mac: '02:65:6b:07:00:0c' });
    expect([idOfObject('ekt-br7'), idOfObject('ekt-7-2'), idOfObject('eth0'), idOfObject('ekt-x')]).toEqual([7, 7, undefined, undefined]);
  });

  it('computes the same fingerprint as ssh-keygen -lf', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ekt-fp-'));
    try {
      await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', `${dir}/k`]);
      const printed = (await run(['ssh-keygen', '-lf', `${dir}/k.pub`])).stdout.split(' ')[1];
      expect(fingerprintOf(readFileSync(`${dir}/k.pub`, 'utf8'))).toBe(printed);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
