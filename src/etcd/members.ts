/**
 * Membership calls on one etcd3 client, and the conversions between etcd3's decimal ids and the
 * hexadecimal ids users see in etcdctl and in etcd's own logs.
 * @module
 */
import type { Etcd3, IMember } from 'etcd3';
import { EtcdKitError } from '../errors.js';
import type { AddMemberResult, EtcdMember } from './types.js';

/** etcd3 hands uint64 ids over as decimal strings; etcdctl prints them as hex. */
export function hexId(decimal: string): string {
  return BigInt(decimal).toString(16);
}

/** Validates a hex member id (as returned by this module or etcdctl) and converts it for etcd3. */
export function decimalId(hex: unknown, field = 'id'): string {
  if (typeof hex !== 'string' || !/^[0-9a-f]{1,16}$/i.test(hex) || /^0+$/.test(hex)) {
    throw new EtcdKitError('INVALID_ARGUMENT', `${field} must be a hexadecimal member id like 8e9e05c52164694d`, {
      field,
    });
  }
  return BigInt(`0x${hex}`).toString(10);
}

/** etcd3's member record → ours. */
export function toMember(m: IMember): EtcdMember {
  return {
    id: hexId(m.ID),
    name: m.name,
    peerUrls: [...m.peerURLs],
    clientUrls: [...m.clientURLs],
    isLearner: Boolean(m.isLearner),
  };
}

function deadline(timeoutMs: number): { deadline: number } {
  return { deadline: Date.now() + timeoutMs };
}

/** Lists the members (linearizable where the server supports it, i.e. etcd >= 3.5). */
export async function listMembersWith(client: Etcd3, timeoutMs: number): Promise<EtcdMember[]> {
  const res = await client.cluster.memberList({ linearizable: true }, deadline(timeoutMs));
  return res.members.map(toMember);
}

/** Adds a member (or learner) with the given peer URLs. */
export async function addMemberWith(
  client: Etcd3,
  request: { peerUrls: string[]; isLearner: boolean },
  timeoutMs: number,
): Promise<AddMemberResult> {
  const res = await client.cluster.memberAdd(
    { peerURLs: request.peerUrls, isLearner: request.isLearner },
    deadline(timeoutMs),
  );
  return { member: toMember(res.member), members: res.members.map(toMember) };
}

/** Promotes a learner to a voting member. `id` is decimal (see {@link decimalId}). */
export async function promoteMemberWith(client: Etcd3, id: string, timeoutMs: number): Promise<EtcdMember[]> {
  const res = await client.cluster.memberPromote({ ID: id }, deadline(timeoutMs));
  return res.members.map(toMember);
}

/** Removes a member. `id` is decimal (see {@link decimalId}). */
export async function removeMemberWith(client: Etcd3, id: string, timeoutMs: number): Promise<EtcdMember[]> {
  const res = await client.cluster.memberRemove({ ID: id }, deadline(timeoutMs));
  return res.members.map(toMember);
}
