// The chat protocol as the official socket.io-client sees it (docs/PROTOCOL.md).
import { collect, expect, test } from "../../support/fixtures";

test("a message is stored, acknowledged and broadcast to every client, the sender included", async ({ connect }) => {
  const alice = await connect();
  const bob = await connect();
  const toAlice = collect(alice);
  const toBob = collect(bob);

  const ack = await alice.timeout(5000).emitWithAck("chat message", "hello", "alice-0");
  expect(ack).toEqual({ status: "ok", data: { serverOffset: expect.any(Number), duplicate: false } });
  const offset = ack.data.serverOffset;

  await expect.poll(() => toBob.length).toBe(1);
  await expect.poll(() => toAlice.length).toBe(1);
  expect(toBob[0][0]).toBe("hello");
  expect(toBob[0][1]).toBe(offset);
  expect(toBob[0][2].clientOffset).toBe("alice-0");
  expect(toAlice[0]).toEqual(toBob[0]);
});

test("a retried message (same client offset) is acknowledged but stored and broadcast once", async ({ connect }) => {
  const alice = await connect();
  const bob = await connect();
  const toBob = collect(bob);
  const first = await alice.timeout(5000).emitWithAck("chat message", "once", "alice-7");
  const again = await alice.timeout(5000).emitWithAck("chat message", "once", "alice-7");
  expect(again).toEqual({ status: "ok", data: { serverOffset: first.data.serverOffset, duplicate: true } });
  // A later message proves the broadcast pipeline ran past the duplicate.
  await alice.timeout(5000).emitWithAck("chat message", "after", "alice-8");
  await expect.poll(() => toBob.map((m) => m[0])).toEqual(["once", "after"]);
});

test("a client that reconnects with auth.serverOffset gets what it missed, in order", async ({ connect }) => {
  const alice = await connect();
  const offsets: number[] = [];
  for (const text of ["one", "two", "three"]) {
    const ack = await alice.timeout(5000).emitWithAck("chat message", text, `a-${text}`);
    offsets.push(ack.data.serverOffset);
  }
  let replayed: ReturnType<typeof collect> = [];
  await connect({ auth: { serverOffset: offsets[0] } }, (s) => (replayed = collect(s)));
  await expect.poll(() => replayed.map((m) => [m[0], m[1]])).toEqual([
    ["two", offsets[1]],
    ["three", offsets[2]],
  ]);
  // Without an offset there is no replay.
  let none: ReturnType<typeof collect> = [];
  await connect({}, (s) => (none = collect(s)));
  await alice.timeout(5000).emitWithAck("chat message", "four", "a-four");
  await expect.poll(() => none.map((m) => m[0])).toEqual(["four"]);
});

test.describe("without rate limits", () => {
  // Alice sends as fast as the acks come, four at a time, far above a person's rate: the
  // rate limits (README, "Limits and security") would refuse some of it.
  test.use({ serverOptions: { args: ["--socket-events-per-second", "0"] } });

  test("clients connecting without an offset while messages flow get every message sent after their CONNECT, once, in order", async ({ connect }) => {
    const alice = await connect();
    let started = 0;
    let sending = true;
    // Four messages in flight at a time keep the server busy while the clients connect.
    const senders = Array.from({ length: 4 }, async () => {
      while (sending) {
        const n = started++;
        await alice.timeout(5000).emitWithAck("chat message", `m${n}`, `alice-flow-${n}`);
      }
    });
    // A hundred clients connect at once; each notes which message alice starts next.
    const clients = await Promise.all(
      Array.from({ length: 100 }, async () => {
        let received: ReturnType<typeof collect> = [];
        await connect({}, (s) => (received = collect(s)));
        const from = started;
        return { from, numbers: () => received.map((m) => Number(m[0].slice(1))) };
      }),
    );
    const enough = started + 10;
    await expect.poll(() => started).toBeGreaterThan(enough);
    sending = false;
    await Promise.all(senders);
    const total = started;
    for (const client of clients) {
      const expected = Array.from({ length: total - client.from }, (_, i) => client.from + i);
      // Messages in flight together may be stored in either order: compare as sets.
      const after = () => client.numbers().filter((n) => n >= client.from).sort((a, b) => a - b);
      await expect.poll(after).toEqual(expected);
      // What came before its CONNECT may or may not be there, but never twice.
      const numbers = client.numbers();
      expect(new Set(numbers).size).toBe(numbers.length);
    }
  });
});

test("the tutorial's first client, which sends only the text and no ack, still chats", async ({ connect }) => {
  const tutorial = await connect();
  const bob = await connect();
  const toBob = collect(bob);
  tutorial.emit("chat message", "plain");
  await expect.poll(() => toBob.map((m) => m[0])).toEqual(["plain"]);
});

test.describe("bad input", () => {
  test.use({ serverOptions: { args: ["--max-message-bytes", "10"] } });

  test("gets an error ack and stores nothing", async ({ connect }) => {
    const alice = await connect();
    const cases: Array<[unknown[], string]> = [
      [["", "c-1"], "empty"],
      [["   ", "c-2"], "empty"],
      [["x".repeat(11), "c-3"], "too_long"],
      [[42, "c-4"], "invalid_arguments"],
      [[{ text: "hi" }, "c-5"], "invalid_arguments"],
      [["hi", { not: "an offset" }], "invalid_arguments"],
      [[], "invalid_arguments"],
    ];
    for (const [args, code] of cases) {
      const ack = await alice.timeout(5000).emitWithAck("chat message", ...args);
      expect(ack.status, JSON.stringify(args)).toBe("error");
      expect(ack.error.code, JSON.stringify(args)).toBe(code);
      expect(ack.error.message.length).toBeGreaterThan(0);
    }
    // Exactly ten bytes is fine; nothing before it was stored, so it replays alone.
    const ok = await alice.timeout(5000).emitWithAck("chat message", "x".repeat(10), "c-6");
    expect(ok.status).toBe("ok");
    let replayed: ReturnType<typeof collect> = [];
    await connect({ auth: { serverOffset: 0 } }, (s) => (replayed = collect(s)));
    await expect.poll(() => replayed.map((m) => m[0])).toEqual(["x".repeat(10)]);
  });
});

test("GET /healthz answers ok, with the store and the adapter", async ({ server, request }) => {
  const response = await request.get(`${server.url}/healthz`);
  expect(response.status()).toBe(200);
  expect(await response.json()).toEqual({
    status: "ok",
    store: { kind: "sqlite", ok: true },
    adapter: { kind: "local", ok: true },
  });
});
