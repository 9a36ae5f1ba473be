// The tutorial's acknowledgement and catch-all examples on `/`, with the official client.
import { expect, test } from "../../support/fixtures";

test("request is acknowledged with a callback, request2 with a promise", async ({ connect }) => {
  const socket = await connect();
  const viaCallback = await new Promise((resolve, reject) => {
    socket.timeout(5000).emit("request", { foo: "bar" }, "baz", (err: Error | null, response: unknown) =>
      err ? reject(err) : resolve(response),
    );
  });
  expect(viaCallback).toEqual({ status: "ok" });
  const viaPromise = await socket.timeout(5000).emitWithAck("request2", { foo: "bar" }, "baz");
  expect(viaPromise).toEqual({ status: "ok from request 2" });
});

test("an ack the server withholds times out on the client", async ({ connect }) => {
  const socket = await connect();
  expect(await socket.timeout(5000).emitWithAck("withhold", true)).toEqual({ status: "ok", data: { withhold: true } });
  await expect(socket.timeout(300).emitWithAck("request", { foo: "bar" }, "baz")).rejects.toThrow(
    "operation has timed out",
  );
  await socket.timeout(5000).emitWithAck("withhold", false);
  expect(await socket.timeout(5000).emitWithAck("request2", { foo: "bar" }, "baz")).toEqual({
    status: "ok from request 2",
  });
});

test("the catch-all acknowledges events without a handler, binary arguments included", async ({ connect }) => {
  const socket = await connect();
  const ack = await socket
    .timeout(5000)
    .emitWithAck("catch-all-listeners", 1, "2", { 3: "4", 5: Uint8Array.from([6]) });
  expect(ack).toEqual({ status: "ok", data: { event: "catch-all-listeners" } });
  // The connection survives it: chat still works.
  expect((await socket.timeout(5000).emitWithAck("chat message", "still here", "c-1")).status).toBe("ok");
});

test("the server asks the client for an ack and uses the answer", async ({ connect }) => {
  const socket = await connect();
  socket.on("rtt:probe", (token: string, answer: (token: string) => void) => answer(token));
  const measured = new Promise<{ ms: number; echoed: boolean }>((resolve) => socket.once("rtt:measured", resolve));
  socket.emit("rtt");
  const result = await measured;
  expect(result.echoed).toBe(true);
  expect(result.ms).toBeGreaterThanOrEqual(0);
  expect(result.ms).toBeLessThan(5000);
});
