// Rate limits with the official socket.io-client: its retries in normal use never trip
// them; a flood is refused with `rate_limited` and `retryAfterMs`, then disconnected.
import { expect, test } from "../../support/fixtures";
import { readMessages } from "../../support/database";

type Ack = { status: string; data?: { serverOffset: number }; error?: { code: string; retryAfterMs?: number } };

test("the official client's retries never trip the default limits", async ({ connect, server }) => {
  // The tutorial's client delivery: an ack timeout and retries. Its queue sends one packet at
  // a time and waits for the ack before the next: 150 messages written offline and sent at
  // once on reconnection, as fast as the acks come, stay within the burst.
  const socket = await connect({ ackTimeout: 2000, retries: 3 });
  const acks = await Promise.all(
    Array.from({ length: 150 }, (_, n) => socket.emitWithAck("chat message", `m${n}`, `retry-${n}`) as Promise<Ack>),
  );
  expect(acks.filter((a) => a.status !== "ok")).toEqual([]);
  expect(readMessages(server.databaseUrl)).toHaveLength(150);
});

test.describe("with small limits", () => {
  test.use({ serverOptions: { args: ["--socket-events-per-second", "5", "--socket-event-burst", "10", "--flood-disconnect-after", "20"] } });

  test("a flood is refused with when to retry, then disconnected; others chat on", async ({ connect }) => {
    const bystander = await connect();
    const flooder = await connect();
    const acks = await Promise.all(
      Array.from({ length: 15 }, (_, n) => flooder.timeout(2000).emitWithAck("chat message", `f${n}`, `flood-${n}`) as Promise<Ack>),
    );
    expect(acks.filter((a) => a.status === "ok")).toHaveLength(10);
    const refused = acks.filter((a) => a.status === "error");
    expect(refused).toHaveLength(5);
    for (const r of refused) {
      expect(r.error!.code).toBe("rate_limited");
      expect(r.error!.retryAfterMs).toBeGreaterThan(0);
    }
    // Going on regardless: disconnected by the server (its only namespace gone, the
    // connection closes with it, so the client may see either).
    const gone = new Promise<string>((resolve) => flooder.on("disconnect", resolve));
    for (let n = 0; n < 100; n++) flooder.emit("rooms:list");
    expect(["io server disconnect", "transport close"]).toContain(await gone);
    // The bystander is untouched.
    const ack = (await bystander.emitWithAck("chat message", "still fine", "b-0")) as Ack;
    expect(ack.status).toBe("ok");
  });
});
