// Chat rooms with the official client: join, leave, member counts, `to` and `except`.
import { Socket } from "socket.io-client";
import { collect, expect, test } from "../../support/fixtures";

type Rooms = Array<{ name: string; members: number }>;

function latestRooms(socket: Socket): { value: Rooms } {
  const latest = { value: [] as Rooms };
  socket.on("rooms:updated", (rooms: Rooms) => (latest.value = rooms));
  return latest;
}

test("to and except reach exactly the right clients; leaving stops delivery", async ({ connect }) => {
  const [ann, bob, cat] = [await connect(), await connect(), await connect()];
  const [toAnn, toBob, toCat] = [collect(ann), collect(bob), collect(cat)];
  const annRooms = latestRooms(ann);

  const joined = await ann.timeout(5000).emitWithAck("room:join", "rust");
  expect(joined).toEqual({ status: "ok", data: { room: "rust", members: 1, history: { messages: [], complete: true } } });
  await bob.timeout(5000).emitWithAck("room:join", "rust");
  await cat.timeout(5000).emitWithAck("room:join", "go");
  await expect.poll(() => annRooms.value).toEqual([
    { name: "go", members: 1 },
    { name: "rust", members: 2 },
  ]);

  const toRust = await ann.timeout(5000).emitWithAck("chat message", "for rust", "a-1", { to: "rust" });
  expect(toRust.status).toBe("ok");
  const notRust = await cat.timeout(5000).emitWithAck("chat message", "not for rust", "c-1", { except: "rust" });
  expect(notRust.status).toBe("ok");
  const everyone = await cat.timeout(5000).emitWithAck("chat message", "for all", "c-2");
  expect(everyone.status).toBe("ok");

  const texts = (list: ReturnType<typeof collect>) => list.map((m) => m[0]);
  await expect.poll(() => texts(toCat)).toEqual(["not for rust", "for all"]);
  await expect.poll(() => texts(toAnn)).toEqual(["for rust", "for all"]);
  await expect.poll(() => texts(toBob)).toEqual(["for rust", "for all"]);
  expect(toAnn[0][2]).toMatchObject({ room: "rust" });
  expect(toCat[0][2]).toMatchObject({ except: "rust" });

  // Bob leaves: the next message to rust no longer reaches him, and the counts say so.
  expect(await bob.timeout(5000).emitWithAck("room:leave", "rust")).toEqual({
    status: "ok",
    data: { name: "rust", members: 1 },
  });
  await expect.poll(() => annRooms.value).toEqual([
    { name: "go", members: 1 },
    { name: "rust", members: 1 },
  ]);
  await ann.timeout(5000).emitWithAck("chat message", "rust again", "a-2", { to: "rust" });
  await cat.timeout(5000).emitWithAck("chat message", "marker", "c-3");
  await expect.poll(() => texts(toBob)).toEqual(["for rust", "for all", "marker"]);
  expect(texts(toAnn)).toContain("rust again");

  // A disconnect updates the counts too.
  cat.disconnect();
  await expect.poll(() => annRooms.value).toEqual([{ name: "rust", members: 1 }]);
});

test("a room's history comes with the join; only members may send to it", async ({ connect }) => {
  const ann = await connect();
  await ann.timeout(5000).emitWithAck("room:join", "rust");
  await ann.timeout(5000).emitWithAck("chat message", "first", "a-1", { to: "rust" });
  await ann.timeout(5000).emitWithAck("chat message", "general", "a-2");

  const bob = await connect();
  const refused = await bob.timeout(5000).emitWithAck("chat message", "sneaky", "b-1", { to: "rust" });
  expect(refused.status).toBe("error");
  expect(refused.error.code).toBe("not_a_member");
  const joined = await bob.timeout(5000).emitWithAck("room:join", "rust");
  expect(joined.data.history.messages.map((m: { content: string }) => m.content)).toEqual(["first"]);
  expect(joined.data.history.complete).toBe(true);
  expect(joined.data.members).toBe(2);
  expect((await bob.timeout(5000).emitWithAck("rooms:list")).data).toEqual([{ name: "rust", members: 2 }]);
});

test("bad room names and targets get clear errors", async ({ connect }) => {
  const ann = await connect();
  for (const name of ["", "   ", "x".repeat(65), 42]) {
    const reply = await ann.timeout(5000).emitWithAck("room:join", name);
    expect(reply.status, JSON.stringify(name)).toBe("error");
    expect(reply.error.code).toBe("invalid_arguments");
  }
  const both = await ann.timeout(5000).emitWithAck("chat message", "hi", "a-1", { to: "a", except: "b" });
  expect(both.error.code).toBe("invalid_arguments");
  const unknown = await ann.timeout(5000).emitWithAck("chat message", "hi", "a-2", { room: "a" });
  expect(unknown.error.code).toBe("invalid_arguments");
});

test("a client that comes back with its rooms gets them back, and what it missed in them", async ({ connect }) => {
  const ann = await connect();
  await ann.timeout(5000).emitWithAck("room:join", "rust");
  const first = await ann.timeout(5000).emitWithAck("chat message", "seen", "a-1", { to: "rust" });
  const other = await connect();
  await other.timeout(5000).emitWithAck("room:join", "go");
  await other.timeout(5000).emitWithAck("chat message", "go only", "o-1", { to: "go" });
  await ann.timeout(5000).emitWithAck("chat message", "missed", "a-2", { to: "rust" });
  await other.timeout(5000).emitWithAck("chat message", "not for rust", "o-2", { except: "rust" });

  let replayed: ReturnType<typeof collect> = [];
  const back = await connect({ auth: { serverOffset: first.data.serverOffset, rooms: ["rust"] } }, (s) => {
    replayed = collect(s);
  });
  await expect.poll(() => replayed.map((m) => m[0])).toEqual(["missed"]);
  const list = (await back.timeout(5000).emitWithAck("rooms:list")).data;
  expect(list).toContainEqual({ name: "rust", members: 2 });
});

test("typing is broadcast to everyone but the sender, or to the room's other members", async ({ connect }) => {
  const [ann, bob, cat] = [await connect(), await connect(), await connect()];
  const seen = new Map<Socket, Array<{ id: string; room: string | null }>>();
  for (const s of [ann, bob, cat]) {
    const list: Array<{ id: string; room: string | null }> = [];
    s.on("typing", (notice) => list.push(notice));
    seen.set(s, list);
  }
  ann.emit("typing", null);
  await expect.poll(() => seen.get(bob)!.length).toBe(1);
  await expect.poll(() => seen.get(cat)!.length).toBe(1);
  expect(seen.get(bob)![0]).toEqual({ id: ann.id, room: null });

  await ann.timeout(5000).emitWithAck("room:join", "rust");
  await bob.timeout(5000).emitWithAck("room:join", "rust");
  ann.emit("typing", "rust");
  await expect.poll(() => seen.get(bob)!.length).toBe(2);
  expect(seen.get(bob)![1]).toEqual({ id: ann.id, room: "rust" });
  // A marker proves the room notice had time to reach everyone it would reach.
  bob.emit("typing", null);
  await expect.poll(() => seen.get(cat)!.length).toBe(2);
  expect(seen.get(cat)!.map((n) => n.id)).toEqual([ann.id, bob.id]);
  expect(seen.get(ann)!.map((n) => n.id)).toEqual([bob.id]);
});
