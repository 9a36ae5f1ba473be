// Nothing lost, nothing doubled: many official socket.io-client clients send while the
// server is killed with SIGKILL and restarted, and clients are cut off at random.
//
// The test command runs a small version; `FAULT_FULL=1` runs the full one (20 clients x 500
// messages). Either way it prints a summary.
import { expect, test } from "../../support/fixtures";
import { readMessages } from "../../support/database";
import { ChatServer, freshDatabase } from "../../support/server";
import { caughtUp, connected, expectNothingLost, sendPaced, sender, sleep, tally } from "../../support/senders";

const FULL = process.env.FAULT_FULL === "1";
const CLIENTS = FULL ? 20 : 6;
const PER_CLIENT = FULL ? 500 : 60;
const KILLS = 3;
/** Time between two sends of one client; the kills are spread over the whole sending. */
const PACE_MS = FULL ? 10 : 40;

test("every acknowledged message is stored once and reaches every client, through kills and cuts", async () => {
  test.setTimeout(FULL ? 900_000 : 180_000);
  const started = Date.now();
  const db = freshDatabase();
  let server = await ChatServer.start({}, db);
  const port = server.port;
  const clients = Array.from({ length: CLIENTS }, (_, i) =>
    sender(server.url, `c${i}`, { reconnectionDelay: 50, reconnectionDelayMax: 400 }),
  );
  // Whatever happens below, no client and no server outlives the test.
  try {
    await connected(clients);
    // Every client sends its messages, paced, each with its own client offset.
    const sending = sendPaced(clients, PER_CLIENT, PACE_MS);

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
    await sending;
    const sendingEndedAt = Date.now() - started;
    chaos = false;
    await cutting;

    // Let every client catch up with what is stored.
    const stored = () => readMessages(db);
    await caughtUp(clients, stored, 60_000);
    const rows = stored();
    const { acked, failed, duplicates } = tally(clients, rows);

    console.log(
      [
        `chaos test (${FULL ? "full" : "small"}): ${CLIENTS} clients x ${PER_CLIENT} messages`,
        `  ${kills} SIGKILL restarts (the last at ${killsEndedAt} ms, sending ended at ${sendingEndedAt} ms), ${cuts} random disconnects`,
        `  ${((Date.now() - started) / 1000).toFixed(1)} s in all`,
        `  sent ${CLIENTS * PER_CLIENT}, acknowledged ${acked.length}, gave up ${failed}, stored ${rows.length}`,
        `  duplicates received by clients: ${duplicates}`,
      ].join("\n"),
    );

    expectNothingLost(clients, rows, CLIENTS * PER_CLIENT);
    // Nothing stored that nobody sent: the rows are exactly the messages sent, each with its text.
    const sent = clients.flatMap((c) => Array.from({ length: PER_CLIENT }, (_, n) => `${c.name}-${n} ${c.name} says ${n}`));
    const storedMessages = rows.map((r) => `${r.clientOffset} ${r.content}`);
    expect(storedMessages.sort()).toEqual(sent.sort());
    expect(duplicates).toBe(0);
  } finally {
    for (const c of clients) c.socket.disconnect();
    await server.stop();
  }
});
