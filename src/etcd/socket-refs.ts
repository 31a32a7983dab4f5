/**
 * Keeps a hung member from keeping the process alive.
 *
 * grpc-js (1.14) holds a reference on a connection attempt's socket until its TLS handshake ends. Against a
 * member that accepted the TCP connection but hangs (SIGSTOP, a stalled host) that is forever, so a CLI
 * run would not exit after `close()`. grpc-js's own rule is that only pending calls keep a process alive (a
 * call waiting for a connection holds the channel's timer; one on a connection holds the HTTP/2 session),
 * so the socket needs no reference of its own. Sockets that grpc-js opens on behalf of our calls are
 * recognised through the async context those calls run in, and unreferenced as they are created.
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import diagnostics from 'node:diagnostics_channel';
import type { Socket } from 'node:net';

const ownCalls = new AsyncLocalStorage<true>();
let subscribed = false;

function onClientSocket(message: unknown): void {
  if (ownCalls.getStore() !== true) return;
  (message as { socket?: Socket }).socket?.unref();
}

/** Runs `fn` so that sockets grpc-js opens for the calls it starts do not keep the process alive. */
export function withoutSocketRefs<T>(fn: () => Promise<T>): Promise<T> {
  if (!subscribed) {
    diagnostics.subscribe('net.client.socket', onClientSocket);
    subscribed = true;
  }
  return ownCalls.run(true, fn);
}
