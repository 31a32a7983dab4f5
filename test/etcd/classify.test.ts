// A timed-out request reads the same whichever deadline fired first: gRPC's or our own guard.
import { GRPCDeadlineExceededError } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { EtcdKitError } from '../../src/errors.js';
import { classifyEtcdError, DeadlineReachedError } from '../../src/etcd/classify.js';

const endpoint = 'https://10.0.0.11:2379';
const grpcDeadline = (): Error => new GRPCDeadlineExceededError('4 DEADLINE_EXCEEDED: Deadline exceeded after 0.801s');

describe('classifyEtcdError: timeouts', () => {
  it("gRPC's deadline with a known budget reads like our own deadline", () => {
    const ours = classifyEtcdError(new DeadlineReachedError(800), { endpoint, operation: 'linearizable read' });
    const grpc = classifyEtcdError(grpcDeadline(), { endpoint, operation: 'linearizable read', timeoutMs: 800 });
    expect(grpc.code).toBe('ETCD_TIMEOUT');
    expect(grpc.message).toBe(`${endpoint}: linearizable read failed: no answer within 800 ms`);
    expect(grpc.message).toBe(ours.message);
    expect(grpc.cause).toBeInstanceOf(GRPCDeadlineExceededError);
    expect(grpc.details).toEqual({ endpoint });
  });

  it('our guard, started on what was left of the budget, reports the budget the caller gave', () => {
    const e = classifyEtcdError(new DeadlineReachedError(799.4), { endpoint, operation: 'linearizable read', timeoutMs: 800 });
    expect(e.message).toBe(`${endpoint}: linearizable read failed: no answer within 800 ms`);
    expect(classifyEtcdError(new DeadlineReachedError(799.4), { endpoint }).message).toBe(`${endpoint}: no answer within 799 ms`);
  });

  it("gRPC's deadline without a budget keeps the general explanation and the reason", () => {
    const e = classifyEtcdError(grpcDeadline(), { endpoint, operation: 'defragment' });
    expect(e.code).toBe('ETCD_TIMEOUT');
    expect(e.message).toContain('no answer before the deadline');
    expect(e.message).toContain('Deadline exceeded after 0.801s');
  });

  it("etcd's own 'request timed out' is not our budget running out, even when one was given", () => {
    const e = classifyEtcdError(new Error('etcdserver: request timed out'), { endpoint, timeoutMs: 800 });
    expect(e.code).toBe('ETCD_TIMEOUT');
    expect(e.message).not.toContain('800 ms');
    expect(e.message).toContain('etcdserver: request timed out');
  });

  it('an EtcdKitError passes through unchanged', () => {
    const original = new EtcdKitError('ETCD_TIMEOUT', 'x');
    expect(classifyEtcdError(original, { timeoutMs: 5 })).toBe(original);
  });
});
