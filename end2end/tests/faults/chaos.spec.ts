// Nothing lost, nothing doubled: many official socket.io-client clients send while the
// server is killed with SIGKILL and restarted, and clients are cut off at random.
//
// The test command runs a small version; `FAULT_FULL=1` runs the full one (20 clients x 500
// messages). Either way it prints a summary.
import { io, Socket } from "socket.io-client";
import { expect, test } from "../../support/fixtures";
import { readMessages } from "../../support/database";
import { ChatServer, freshDatabase } from "../../support/server";

const FULL = process.env.FAULT_FULL === "1";
const CLIENTS = FULL ? 20 : 6;
const PER_CLIENT = FULL ? 500 : 60;
const KILLS = 3;
/** Time between two sends of one client; the kills are spread over the whole sending. */
const PACE_MS = FULL ? 10 : 40;

interface Client {
  name: string;
  socket: Socket;
  /** clientOffset → serverOffset, for every acknowledged message. */
  acked: Map<string, number>;
  /** serverOffset → content, every message received (broadcast or replay). */
  received: Map<number, string>;
  /** Messages received a second time. */
  duplicates: number;
  /** Messages whose emit gave up (retries exhausted). */
  failed: number;
}

function client(url: string, name: string): Client {
  const auth = { serverOffset: 0 };
  // The tutorial's client delivery: an ack timeout and retries, and the last offset seen
  // sent again with every reconnection.
  const socket = io(url, {
    transports: ["websocket"],
    auth,
    ackTimeout: 1000,
    retries: 100,
    reconnectionDelay: 50,
    reconnectionDelayMax: 400,
  });
  const c: Client = { name, socket, acked: new Map(), received: new Map(), duplicates: 0, failed: 0 };
  socket.on("chat message", (content: string, offset: number) => {
    if (c.received.has(offset)) c.duplicates++;
    c.received.set(offset, content);
    auth.serverOffset = Math.max(auth.serverOffset, offset);
  });
  return c;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test("every acknowledged message is stored once and reaches every client, through kills and cuts", async () => {
  test.setTimeout(FULL ? 900_000 : 180_000);
  const started = Date.now();
  const db = freshDatabase();
  let server = await ChatServer.start({}, db);
  const port = server.port;
  const clients = Array.from({ length: CLIENTS }, (_, i) => client(server.url, `c${i}`));
  // Whatever happens below, no client and no server outlives the test.
  try {
    await Promise.all(clients.map((c) => new Promise((resolve) => c.socket.once("connect", resolve))));

    // Every client sends its messages, paced, each with its own client offset.
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

    // Meanwhile: SIGKILL and restart, and random cuts.
    let kills = 0;
    let cuts = 0;
    let chaos = true;
    const cutting = (async () => {
      while (chaos) {
        await sleep(100 + Math.random() * 200);
        const victim = clients[Math.floor(Math.random() * clients.length)];
        victim.socket.io.engine?.close();
        cuts++;
      }
    })();
    const between = (PER_CLIENT * PACE_MS) / (KILLS + 1);
    for (let k = 0; k < KILLS; k++) {
      await sleep(between * (0.5 + Math.random()));
      await server.stop("SIGKILL");
      kills++;
      await sleep(100 + Math.random() * 300);
      server = await ChatServer.start({}, db, `127.0.0.1:${port}`);
    }
    const killsEndedAt = Date.now() - started;
    await Promise.all(sending);
    const sendingEndedAt = Date.now() - started;
    chaos = false;
    await cutting;

    // Let every client catch up with what is stored.
    const stored = () => readMessages(db);
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
    const byOffset = new Map<string, number[]>();
    for (const r of rows) if (r.clientOffset) byOffset.set(r.clientOffset, [...(byOffset.get(r.clientOffset) ?? []), r.id]);

    console.log(
      [
        `chaos test (${FULL ? "full" : "small"}): ${CLIENTS} clients x ${PER_CLIENT} messages`,
        `  ${kills} SIGKILL restarts (the last at ${killsEndedAt} ms, sending ended at ${sendingEndedAt} ms), ${cuts} random disconnects`,
        `  ${((Date.now() - started) / 1000).toFixed(1)} s in all`,
        `  sent ${CLIENTS * PER_CLIENT}, acknowledged ${acked.length}, gave up ${failed}, stored ${rows.length}`,
        `  duplicates received by clients: ${duplicates}`,
      ].join("\n"),
    );

    // Every acknowledged message is stored exactly once, where its ack said.
    for (const [offset, serverOffset] of acked) expect(byOffset.get(offset), offset).toEqual([serverOffset]);
    // Nothing stored twice, nothing stored that nobody sent, nothing sent left unstored:
    // the rows are exactly the messages sent, each with its text.
    expect(byOffset.size).toBe(rows.length);
    expect(acked.length).toBe(CLIENTS * PER_CLIENT);
    const sent = clients.flatMap((c) => Array.from({ length: PER_CLIENT }, (_, n) => `${c.name}-${n} ${c.name} says ${n}`));
    const storedMessages = rows.map((r) => `${r.clientOffset} ${r.content}`);
    expect(storedMessages.sort()).toEqual(sent.sort());
    // Every client has exactly the database's messages, in offset order, once each.
    for (const c of clients) {
      expect([...c.received.keys()].sort((a, b) => a - b), c.name).toEqual(ids);
    }
    expect(duplicates).toBe(0);
  } finally {
    for (const c of clients) c.socket.disconnect();
    await server.stop();
  }
});
