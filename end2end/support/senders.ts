// Official socket.io-client clients that send and receive the way the tutorial's final step
// does (ack timeout, retries, the last offset seen sent again on reconnection), and what the
// fault tests check of them afterwards: every acknowledged message stored once, where its
// ack said, and every client holding exactly the database's messages.
import { io, Socket } from "socket.io-client";
import { expect } from "./fixtures";
import { StoredRow } from "./database";

export interface Sender {
  name: string;
  socket: Socket;
  /** clientOffset → serverOffset, for every acknowledged message. */
  acked: Map<string, number>;
  /** serverOffset → content, every message received (broadcast or replay). */
  received: Map<number, string>;
  /** Messages received a second time. */
  duplicates: number;
  /** Messages whose emit gave up (retries exhausted) or were refused. */
  failed: number;
  /** Reconnections of the manager (to the same server or, behind a balancer, another). */
  reconnections: number;
}

/** How fast a sender comes back; the rest of its options are the tutorial's. */
export interface Backoff {
  reconnectionDelay: number;
  reconnectionDelayMax: number;
}

export function sender(url: string, name: string, backoff: Backoff): Sender {
  const auth = { serverOffset: 0 };
  const socket = io(url, { transports: ["websocket"], auth, ackTimeout: 1000, retries: 100, forceNew: true, ...backoff });
  const s: Sender = { name, socket, acked: new Map(), received: new Map(), duplicates: 0, failed: 0, reconnections: 0 };
  socket.on("chat message", (content: string, offset: number) => {
    if (s.received.has(offset)) s.duplicates++;
    s.received.set(offset, content);
    auth.serverOffset = Math.max(auth.serverOffset, offset);
  });
  socket.io.on("reconnect", () => s.reconnections++);
  return s;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function connected(senders: Sender[]): Promise<unknown[]> {
  return Promise.all(senders.map((s) => new Promise((resolve) => s.socket.once("connect", resolve))));
}

/** Each sender sends `count` messages (`<name>-<n>` as client offset), one every `paceMs`. */
export function sendPaced(senders: Sender[], count: number, paceMs: number): Promise<void[]> {
  return Promise.all(
    senders.map(async (s) => {
      const sends: Promise<void>[] = [];
      for (let n = 0; n < count; n++) {
        const offset = `${s.name}-${n}`;
        sends.push(
          s.socket
            .emitWithAck("chat message", `${s.name} says ${n}`, offset)
            .then((ack: { status: string; data: { serverOffset: number } }) => {
              if (ack.status === "ok") s.acked.set(offset, ack.data.serverOffset);
              else s.failed++;
            })
            .catch(() => {
              s.failed++;
            }),
        );
        await sleep(paceMs);
      }
      await Promise.all(sends);
    }),
  );
}

/** Waits until every sender is connected and has received as many messages as are stored. */
export async function caughtUp(senders: Sender[], stored: () => StoredRow[], timeout: number): Promise<void> {
  await expect
    .poll(() => {
      const count = stored().length;
      return senders.every((s) => s.received.size === count && s.socket.connected);
    }, { timeout })
    .toBe(true);
}

/** What the senders did, summed, and the stored rows by client offset. */
export function tally(senders: Sender[], rows: StoredRow[]) {
  const byOffset = new Map<string, number[]>();
  for (const r of rows) if (r.clientOffset) byOffset.set(r.clientOffset, [...(byOffset.get(r.clientOffset) ?? []), r.id]);
  return {
    acked: senders.flatMap((s) => [...s.acked.entries()]),
    failed: senders.reduce((n, s) => n + s.failed, 0),
    duplicates: senders.reduce((n, s) => n + s.duplicates, 0),
    byOffset,
  };
}

/**
 * Every acknowledged message is stored exactly once, where its ack said; nothing stored
 * twice; `sent` messages were all acknowledged; every sender has exactly the database's
 * messages, once each.
 */
export function expectNothingLost(senders: Sender[], rows: StoredRow[], sent: number): void {
  const { acked, byOffset } = tally(senders, rows);
  for (const [offset, serverOffset] of acked) expect(byOffset.get(offset), offset).toEqual([serverOffset]);
  expect(byOffset.size).toBe(rows.length);
  expect(acked.length).toBe(sent);
  const ids = rows.map((r) => r.id);
  for (const s of senders) expect([...s.received.keys()].sort((a, b) => a - b), s.name).toEqual(ids);
}
