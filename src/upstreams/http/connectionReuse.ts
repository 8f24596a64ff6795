import { subscribe } from "node:diagnostics_channel";

/** Told, as its request's head is written, whether the connection had carried a request before. */
export interface ReuseWatcher {
  connectionReused(reused: boolean): void;
}

/** Sockets that have carried a request's head: a later head on one of them is on a reused connection. */
const carried = new WeakSet<object>();
/** The exchange whose request undici is starting: the next head written is its. */
let starting: ReuseWatcher | undefined;
let subscribed = false;

function headWritten(message: unknown): void {
  const watcher = starting;
  starting = undefined;
  const socket = (message as { socket?: unknown }).socket;
  if (typeof socket !== "object" || socket === null) return;
  const reused = carried.has(socket);
  if (!reused) carried.add(socket);
  watcher?.connectionReused(reused);
}

/**
 * Tells `watcher` whether the request it is starting goes on a reused keep-alive connection (SPEC §2:
 * only there is a reset the stale keep-alive race). undici's handlers are told nothing of the
 * connection; its diagnostics channel `undici:client:sendHeaders` is, with the socket, in the same
 * synchronous step (client-h1's writeH1) as the handler's `onRequestStart`: so call this from there.
 * Costs a WeakSet lookup per request.
 */
export function watchReuse(watcher: ReuseWatcher): void {
  if (!subscribed) {
    subscribed = true;
    subscribe("undici:client:sendHeaders", headWritten);
  }
  starting = watcher;
}
