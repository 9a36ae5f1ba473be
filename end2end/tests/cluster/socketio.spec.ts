// Several nodes, seen by the official socket.io-client: users on different nodes chat,
// rooms span nodes with the same member counts everywhere, `to` and `except` hold across
// nodes, and the balancer passes WebSocket and sticky long-polling through.
import { io, Socket } from "socket.io-client";
import { Cluster } from "../../support/cluster";
import { collect, expect, test } from "../../support/fixtures";

type Rooms = Array<{ name: string; members: number }>;

let cluster: Cluster;
const sockets: Socket[] = [];

test.beforeAll(async () => {
  cluster = await Cluster.start(3);
});
test.afterAll(async () => {
  await cluster?.stop();
});
test.afterEach(() => {
  for (const s of sockets.splice(0)) s.disconnect();
});

async function connect(url: string, options: Parameters<typeof io>[1] = {}): Promise<Socket> {
  const socket = io(url, { transports: ["websocket"], reconnection: false, forceNew: true, ...options });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", reject);
  });
  return socket;
}

function latestRooms(socket: Socket): { value: Rooms } {
  const latest = { value: [] as Rooms };
  socket.on("rooms:updated", (rooms: Rooms) => (latest.value = rooms));
  return latest;
}

test("users on three nodes chat; rooms, counts, to and except span the nodes", async () => {
  const [ann, bob, cat] = [
    await connect(cluster.nodes[0]),
    await connect(cluster.nodes[1]),
    await connect(cluster.nodes[2]),
  ];
  const [toAnn, toBob, toCat] = [collect(ann), collect(bob), collect(cat)];
  const [annRooms, catRooms] = [latestRooms(ann), latestRooms(cat)];
  const texts = (list: ReturnType<typeof collect>) => list.map((m) => m[0]);

  expect((await ann.timeout(5000).emitWithAck("chat message", "hello from node 1", "a-0")).status).toBe("ok");
  for (const list of [toAnn, toBob, toCat]) await expect.poll(() => texts(list)).toEqual(["hello from node 1"]);

  await ann.timeout(5000).emitWithAck("room:join", "rust");
  const joined = await bob.timeout(5000).emitWithAck("room:join", "rust");
  expect(joined.data.members).toBe(2);
  await cat.timeout(5000).emitWithAck("room:join", "go");
  const expected = [
    { name: "go", members: 1 },
    { name: "rust", members: 2 },
  ];
  // Pushed to everyone, and asked of each node: the same counts everywhere.
  await expect.poll(() => annRooms.value).toEqual(expected);
  await expect.poll(() => catRooms.value).toEqual(expected);
  for (const s of [ann, bob, cat]) expect((await s.timeout(5000).emitWithAck("rooms:list")).data).toEqual(expected);

  await ann.timeout(5000).emitWithAck("chat message", "for rust", "a-1", { to: "rust" });
  await cat.timeout(5000).emitWithAck("chat message", "not for rust", "c-1", { except: "rust" });
  await bob.timeout(5000).emitWithAck("chat message", "for all", "b-1");
  await expect.poll(() => texts(toAnn)).toEqual(["hello from node 1", "for rust", "for all"]);
  await expect.poll(() => texts(toBob)).toEqual(["hello from node 1", "for rust", "for all"]);
  await expect.poll(() => texts(toCat)).toEqual(["hello from node 1", "not for rust", "for all"]);

  // Offsets are one sequence, whichever node stored them.
  const offsets = toCat.map((m) => m[1]);
  expect(offsets).toEqual([...offsets].sort((a, b) => a - b));

  // A member leaving on node 2 changes the count on node 1.
  bob.disconnect();
  await expect.poll(() => annRooms.value).toEqual([
    { name: "go", members: 1 },
    { name: "rust", members: 1 },
  ]);
});

test("through the balancer: WebSocket, and long-polling kept on one node by the cookie", async () => {
  const ws = await connect(cluster.url);
  const received = collect(ws);
  // Long-polling then the upgrade: every request of the session must reach the node that
  // holds it. Node.js keeps the balancer's cookie only with withCredentials.
  const polling = await connect(cluster.url, { transports: ["polling", "websocket"], withCredentials: true });
  await expect.poll(() => polling.io.engine.transport.name, { timeout: 10_000 }).toBe("websocket");
  const ack = await polling.timeout(5000).emitWithAck("chat message", "through the balancer", "p-1");
  expect(ack.status).toBe("ok");
  await expect.poll(() => received.map((m) => m[0])).toEqual(["through the balancer"]);
  const health = await (await fetch(`${cluster.url}/healthz`)).json();
  expect(health).toEqual({ status: "ok", store: { kind: "postgres", ok: true }, adapter: { kind: "redis", ok: true } });
});
