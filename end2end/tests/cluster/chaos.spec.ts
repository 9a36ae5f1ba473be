// A node dies mid-chat: clients send through the balancer while one of the three nodes is
// killed with SIGKILL. Its clients reconnect through the balancer to the others and replay
// from their last offset; every acknowledged message is stored once, and every client ends
// with exactly the database's messages. And Redis restarted during traffic: the nodes
// reconnect, nothing is lost or doubled, and rooms span the nodes again.
//
// The test command runs a small version; `FAULT_FULL=1` runs the full one (20 clients x 300
// messages). Either way it prints a summary.
import { io, Socket } from "socket.io-client";
import { Cluster, OwnRedis } from "../../support/cluster";
import { readMessages } from "../../support/database";
import { expect, test } from "../../support/fixtures";

const FULL = process.env.FAULT_FULL === "1";
const CLIENTS = 20;
const PER_CLIENT = FULL ? 300 : 30;
const PACE_MS = FULL ? 20 : 50;

interface Client {
  name: string;
  socket: Socket;
  acked: Map<string, number>;
  received: Map<number, string>;
  duplicates: number;
  failed: number;
  reconnections: number;
}

function client(url: string, name: string): Client {
  const auth = { serverOffset: 0 };
  const socket = io(url, {
    transports: ["websocket"],
    auth,
    ackTimeout: 1000,
    retries: 100,
    reconnectionDelay: 100,
    reconnectionDelayMax: 500,
    forceNew: true,
  });
  const c: Client = { name, socket, acked: new Map(), received: new Map(), duplicates: 0, failed: 0, reconnections: 0 };
  socket.on("chat message", (content: string, offset: number) => {
    if (c.received.has(offset)) c.duplicates++;
    c.received.set(offset, content);
    auth.serverOffset = Math.max(auth.serverOffset, offset);
  });
  socket.io.on("reconnect", () => c.reconnections++);
  return c;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test("SIGKILL a node while 20 clients send: nothing acknowledged is lost, every client ends equal to the database", async () => {
  test.setTimeout(FULL ? 600_000 : 120_000);
  const started = Date.now();
  const cluster = await Cluster.start(3);
  const clients = Array.from({ length: CLIENTS }, (_, i) => client(cluster.url, `c${i}`));
  try {
    await Promise.all(clients.map((c) => new Promise((resolve) => c.socket.once("connect", resolve))));
    const sending = clients.map(async (c) => {
      const sends: Promise<void>[] = [];
      for (let n = 0; n < PER_CLIENT; n++) {
        const offset = `${c.name}-${n}`;
        sends.push(
          c.socket
            .emitWithAck("chat message", `${c.name} says ${n}`, offset)
            .then((ack: { status: string; data: { serverOffset: number } }) => {
              if (ack.status === "ok") c.acked.set(offset, ack.data.serverOffset);
              else c.failed++;
            })
            .catch(() => {
              c.failed++;
            }),
        );
        await sleep(PACE_MS);
      }
      await Promise.all(sends);
    });

    await sleep((PER_CLIENT * PACE_MS) / 2);
    cluster.kill(2);
    const killedAt = Date.now() - started;
    await Promise.all(sending);
    const sendingEndedAt = Date.now() - started;

    const stored = () => readMessages(cluster.databaseUrl);
    await expect
      .poll(() => {
        const count = stored().length;
        return clients.every((c) => c.received.size === count && c.socket.connected);
      }, { timeout: 60_000 })
      .toBe(true);

    const rows = stored();
    const ids = rows.map((r) => r.id);
    const acked = clients.flatMap((c) => [...c.acked.entries()]);
    const failed = clients.reduce((n, c) => n + c.failed, 0);
    const duplicates = clients.reduce((n, c) => n + c.duplicates, 0);
    const moved = clients.filter((c) => c.reconnections > 0).length;
    const byOffset = new Map<string, number[]>();
    for (const r of rows) if (r.clientOffset) byOffset.set(r.clientOffset, [...(byOffset.get(r.clientOffset) ?? []), r.id]);

    console.log(
      [
        `cluster chaos test (${FULL ? "full" : "small"}): 3 nodes behind HAProxy, ${CLIENTS} clients x ${PER_CLIENT} messages`,
        `  node 2 SIGKILLed at ${killedAt} ms; sending ended at ${sendingEndedAt} ms; ${((Date.now() - started) / 1000).toFixed(1)} s in all`,
        `  ${moved} clients reconnected through the balancer to the other nodes`,
        `  sent ${CLIENTS * PER_CLIENT}, acknowledged ${acked.length}, gave up ${failed}, stored ${rows.length}`,
        `  duplicates received by clients: ${duplicates}`,
      ].join("\n"),
    );

    expect(moved, "the dead node's clients moved").toBeGreaterThan(0);
    // Every acknowledged message is stored exactly once, where its ack said.
    for (const [offset, serverOffset] of acked) expect(byOffset.get(offset), offset).toEqual([serverOffset]);
    expect(byOffset.size).toBe(rows.length);
    expect(acked.length).toBe(CLIENTS * PER_CLIENT);
    // Every client has exactly the database's messages, once each.
    for (const c of clients) expect([...c.received.keys()].sort((a, b) => a - b), c.name).toEqual(ids);
    // (Offsets may have holes: a transaction that drew an id on the killed node never
    // committed. What matters is that no client skipped a stored one, checked above.)
  } finally {
    for (const c of clients) c.socket.disconnect();
    await cluster.stop();
  }
});

test("Redis restarted during traffic: nothing lost or doubled, the nodes hear each other again", async () => {
  test.setTimeout(120_000);
  const redis = await OwnRedis.start();
  const cluster = await Cluster.start(3, redis.url);
  const clients = Array.from({ length: 6 }, (_, i) => client(cluster.nodes[i % 3], `r${i}`));
  try {
    await Promise.all(clients.map((c) => new Promise((resolve) => c.socket.once("connect", resolve))));
    const PER = 40;
    const sending = clients.map(async (c) => {
      const sends: Promise<void>[] = [];
      for (let n = 0; n < PER; n++) {
        const offset = `${c.name}-${n}`;
        sends.push(
          c.socket
            .emitWithAck("chat message", `${c.name} says ${n}`, offset)
            .then((ack: { status: string; data: { serverOffset: number } }) => {
              if (ack.status === "ok") c.acked.set(offset, ack.data.serverOffset);
              else c.failed++;
            })
            .catch(() => c.failed++),
        );
        await sleep(50);
      }
      await Promise.all(sends);
    });
    await sleep(600);
    await redis.stop();
    await sleep(1000);
    await redis.restart();
    await Promise.all(sending);

    const rows = () => readMessages(cluster.databaseUrl);
    await expect.poll(() => clients.every((c) => c.received.size === rows().length), { timeout: 30_000 }).toBe(true);
    const ids = rows().map((r) => r.id);
    expect(ids.length).toBe(clients.length * PER);
    for (const c of clients) {
      expect(c.acked.size, c.name).toBe(PER);
      expect(c.duplicates, c.name).toBe(0);
      expect([...c.received.keys()].sort((a, b) => a - b), c.name).toEqual(ids);
    }
    // The nodes found each other again: a room joined on three nodes counts three everywhere.
    await expect
      .poll(async () => {
        const counts = [];
        for (const c of clients.slice(0, 3)) {
          const joined = await c.socket.timeout(5000).emitWithAck("room:join", "after-redis");
          counts.push(joined.data.members);
        }
        const listed = await clients[0].socket.timeout(5000).emitWithAck("rooms:list");
        return listed.data.find((r: { name: string }) => r.name === "after-redis")?.members;
      }, { timeout: 20_000 })
      .toBe(3);
    // And each node said so in its log.
    for (const n of [1, 2, 3]) expect(cluster.log(n)).toMatch(/Redis is back/);
  } finally {
    for (const c of clients) c.socket.disconnect();
    await cluster.stop();
    await redis.stop();
  }
});
