// The /admin protocol of the official Admin UI package (@socket.io/admin-ui 0.5.1), checked
// the same way against the package's own Node.js server (peers/official-admin-server.cjs)
// and against socket-chat: login, config, all_sockets, server_stats, events in and out,
// rooms, disconnection, sessions. Where both must agree, the test compares them.
import path from "node:path";
import { io, Socket } from "socket.io-client";
import { ADMIN_PASSWORD, ADMIN_USER, adminArgs, adminPasswordHash, connectAdmin, named, Received } from "../../support/admin";
import { expect, test } from "../../support/fixtures";
import { startListening, stopProcess } from "../../support/process";

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** What one server showed an admin, for the comparison. */
interface Seen {
  invalidLogin: string;
  session: string;
  features: string[];
  socketKeys: string[];
  handshakeKeys: string[];
  statsKeys: string[];
  reason: string;
}

/** A chat client on "/" (the official socket.io-client). */
async function chatClient(url: string): Promise<Socket> {
  const socket = io(url, { transports: ["websocket"], reconnection: false, forceNew: true });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", reject);
  });
  return socket;
}

async function lastOf(events: Received, name: string, timeout = 5_000): Promise<unknown[]> {
  await expect.poll(() => named(events, name).length, { timeout, message: `waiting for ${name}` }).toBeGreaterThan(0);
  const all = named(events, name);
  return all[all.length - 1];
}

/** The whole protocol against the server at `url`. */
async function exercise(url: string): Promise<Seen> {
  const chat = await chatClient(url);
  const wrong = await connectAdmin(url, { username: ADMIN_USER, password: "wrong" }).then(
    () => "connected",
    (err: Error) => err.message,
  );
  const { socket: admin, events } = await connectAdmin(url, { username: ADMIN_USER, password: ADMIN_PASSWORD });
  try {
    const [session] = await lastOf(events, "session");
    expect(session).toMatch(/^[0-9a-f]{16}$/);
    const [config] = (await lastOf(events, "config")) as [{ supportedFeatures: string[] }];

    // Every socket of every namespace, the chat client among them, in its own room.
    const [all] = (await lastOf(events, "all_sockets")) as [Array<Record<string, any>>];
    const mine = all.find((s) => s.id === chat.id)!;
    expect(mine, "the chat socket is listed").toBeTruthy();
    expect(mine).toMatchObject({ nsp: "/", transport: "websocket", data: {} });
    expect(mine.rooms[0]).toBe(chat.id);
    expect(mine.clientId).toHaveLength(12);
    expect(mine.handshake.address).toMatch(/127\.0\.0\.1/);
    expect(mine.handshake.query).toMatchObject({ EIO: "4", transport: "websocket" });
    expect(typeof mine.handshake.issued).toBe("number");
    expect(all.some((s) => s.nsp === "/admin" && s.id === admin.id)).toBe(true);

    // server_stats every 2 s.
    const [stats] = (await lastOf(events, "server_stats", 3_000)) as [Record<string, any>];
    expect(stats).toMatchObject({ pid: expect.any(Number), uptime: expect.any(Number), pollingClientsCount: 0 });
    // The chat client and the admin (Node.js may still count the refused login's connection).
    expect(stats.clientsCount).toBeGreaterThanOrEqual(2);
    expect(stats.namespaces).toEqual(expect.arrayContaining([{ name: "/", socketsCount: 1 }, { name: "/admin", socketsCount: 1 }]));
    const statsCount = named(events, "server_stats").length;
    await expect.poll(() => named(events, "server_stats").length, { timeout: 3_000 }).toBeGreaterThan(statsCount);

    // Events in and out, with their arguments and a time.
    chat.emit("hello there", 1, "two", { three: 3 });
    await expect
      .poll(() => named(events, "event_received").find((e) => (e[2] as unknown[])[0] === "hello there"))
      .toEqual(["/", chat.id, ["hello there", 1, "two", { three: 3 }], expect.stringMatching(ISO_TIME)]);
    chat.emit("chat message", "hi admins", "c-1");
    await expect
      .poll(() => named(events, "event_sent").find((e) => e[1] === chat.id && (e[2] as unknown[])[0] === "chat message"))
      .toEqual(["/", chat.id, expect.arrayContaining(["chat message", "hi admins"]), expect.stringMatching(ISO_TIME)]);
    // ...and counted in the aggregated events.
    await expect
      .poll(() => named(events, "server_stats").flatMap((s) => (s[0] as any).aggregatedEvents.map((e: any) => e.type)), { timeout: 5_000 })
      .toEqual(expect.arrayContaining(["packetsIn", "packetsOut", "bytesIn", "bytesOut"]));

    // Commands: a socket joins and leaves a room (the filter is its id), then is disconnected.
    admin.emit("join", "/", "ops", chat.id);
    await expect.poll(() => named(events, "room_joined")).toContainEqual(["/", "ops", chat.id, expect.stringMatching(ISO_TIME)]);
    admin.emit("leave", "/", "ops", chat.id);
    await expect.poll(() => named(events, "room_left")).toContainEqual(["/", "ops", chat.id, expect.stringMatching(ISO_TIME)]);
    const chatId = chat.id;
    const chatGone = new Promise<string>((resolve) => chat.once("disconnect", resolve));
    admin.emit("_disconnect", "/", false, chatId);
    expect(await chatGone).toBe("io server disconnect");
    const [nsp, id, reason, time] = await lastOf(events, "socket_disconnected");
    expect([nsp, id, time]).toEqual(["/", chatId, expect.stringMatching(ISO_TIME)]);
    // ...and it leaves its rooms, its own first.
    await expect.poll(() => named(events, "room_left").filter((e) => e[2] === chatId).map((e) => e[1])).toContain(chatId);

    // A new chat socket is told as it connects.
    const later = await chatClient(url);
    await expect.poll(() => named(events, "socket_connected").map((e) => (e[0] as any).id)).toContain(later.id);
    const laterId = later.id;
    later.disconnect();
    await expect.poll(() => named(events, "socket_disconnected").map((e) => [e[1], e[2]])).toContainEqual([laterId, "client namespace disconnect"]);

    // The session logs in again without the password.
    const again = await connectAdmin(url, { sessionId: session });
    again.socket.close();
    await expect(connectAdmin(url, { sessionId: "0000000000000000" })).rejects.toThrow("invalid credentials");

    return {
      invalidLogin: wrong,
      session: "hex",
      features: config.supportedFeatures,
      socketKeys: Object.keys(mine).sort(),
      handshakeKeys: Object.keys(mine.handshake).sort(),
      statsKeys: Object.keys(stats).sort(),
      reason: reason as string,
    };
  } finally {
    admin.close();
    chat.close();
  }
}

test.describe("the /admin protocol", () => {
  test.use({ serverOptions: { args: adminArgs() } });

  test("socket-chat answers as the official package does", async ({ server }) => {
    const script = path.join(__dirname, "..", "..", "peers", "official-admin-server.cjs");
    const official = await startListening(process.execPath, [script, "--username", ADMIN_USER, "--password-hash", adminPasswordHash()]);
    try {
      const reference = await exercise(official.url);
      const ours = await exercise(server.url);
      expect(reference.invalidLogin).toBe("invalid credentials");
      expect(ours).toEqual(reference);
    } finally {
      await stopProcess(official.child);
    }
  });
});
