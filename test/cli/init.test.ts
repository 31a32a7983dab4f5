// etcd-kit init's schema line: the yaml-language-server path is relative to the file it writes, and reaches the
// schema in ./node_modules of the current directory wherever the file goes.
import { describe, expect, it } from 'vitest';
import { exampleSpecFor } from '../../src/cli/commands/init.js';
import { EXAMPLE_SPEC_YAML } from '../../src/cli/example-spec.js';

const firstLine = (text: string) => text.split('\n')[0];

describe('etcd-kit init: the schema line', () => {
  it('is the example unchanged for a file in the current directory', () => {
    expect(exampleSpecFor('cluster.yaml', '/srv/project')).toBe(EXAMPLE_SPEC_YAML);
    expect(exampleSpecFor('/srv/project/cluster.yaml', '/srv/project')).toBe(EXAMPLE_SPEC_YAML);
  });

  it('points back to the project from a file elsewhere; only that line changes', () => {
    const nested = exampleSpecFor('ops/prod/cluster.yaml', '/srv/project');
    expect(firstLine(nested)).toBe('# yaml-language-server: $schema=../../node_modules/etcd-kit/schema/cluster-spec.schema.json');
    expect(nested.split('\n').slice(1)).toEqual(EXAMPLE_SPEC_YAML.split('\n').slice(1));
    expect(firstLine(exampleSpecFor('/etc/etcd-kit/cluster.yaml', '/srv/project'))).toBe(
      '# yaml-language-server: $schema=../../srv/project/node_modules/etcd-kit/schema/cluster-spec.schema.json',
    );
  });
});
