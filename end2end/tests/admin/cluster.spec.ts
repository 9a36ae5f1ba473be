// The Admin UI on several nodes (scripts/cluster.sh: 2 nodes on PostgreSQL, joined through
// Redis, each with the admin user): an admin connected to node 1 (the official
// socket.io-client, then the official UI in Chromium) sees both nodes' statistics and node
// 2's sockets, and its commands act on node 2's sockets. tests/server/admin.rs checks the
// same in Rust, with sessions and read-only nodes.
import { io, Socket } from "socket.io-client";
import { ADMIN_PASSWORD, ADMIN_USER, adminPasswordHash, connectAdmin, loginToAdminUi, named } from "../../support/admin";
import { Cluster } from "../../support/cluster";
import { expect, test } from "../../support/fixtures";

let cluster: Cluster;
const sockets: Socket[] = [];

test.beforeAll(async () => {
  cluster = await Cluster.start(2, undefined, { ADMIN_USERNAME: ADMIN_USER, ADMIN_PASSWORD_HASH: adminPasswordHash() });
});
test.afterAll(async () => {
  await cluster?.stop();
});
test.afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

async function chatClient(url: string): Promise<Socket> {
  const socket = io(url, { transports: ["websocket"], reconnection: false, forceNew: true });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", reject);
  });
  return socket;
}

test("an admin on node 1 sees both nodes and disconnects a socket of node 2", async () => {
  const chat = await chatClient(cluster.nodes[1]);
  const { socket: admin, events } = await connectAdmin(cluster.nodes[0], { username: ADMIN_USER, password: ADMIN_PASSWORD });
  sockets.push(admin);
  // Each node's statistics, under its own id (host#pid).
  await expect
    .poll(() => [...new Set(named(events, "server_stats").map((s) => (s[0] as { serverId: string }).serverId))].length, {
      timeout: 10_000,
    })
    .toBe(2);
  // Node 2's socket, sent by node 2 once it finds the admin.
  await expect.poll(() => named(events, "socket_connected").map((e) => (e[0] as { id: string }).id)).toContain(chat.id);
  // A wrong password is refused by node 2 as by node 1.
  await expect(connectAdmin(cluster.nodes[1], { username: ADMIN_USER, password: "wrong" })).rejects.toThrow("invalid credentials");
  // The command, sent to node 1, disconnects the socket of node 2.
  const chatId = chat.id;
  const gone = new Promise<string>((resolve) => chat.once("disconnect", resolve));
  admin.emit("_disconnect", "/", false, chatId);
  expect(await gone).toBe("io server disconnect");
  await expect.poll(() => named(events, "socket_disconnected").map((e) => e[1])).toContain(chatId);
});

test("the official UI on node 1 lists both servers and the sockets of both nodes", async ({ page }) => {
  // (The UI opens on namespace "/" when its own node has a socket there, else on the first.)
  const [here, there] = [await chatClient(cluster.nodes[0]), await chatClient(cluster.nodes[1])];
  await loginToAdminUi(page, cluster.nodes[0]);
  await expect(page.getByRole("button", { name: "Connect" })).toBeHidden();
  await page.getByRole("navigation").getByRole("link", { name: "Servers" }).click();
  await expect(page.getByRole("row").filter({ hasText: /#\d+/ })).toHaveCount(2, { timeout: 10_000 });
  await page.getByRole("navigation").getByRole("link", { name: "Sockets" }).click();
  for (const socket of [here, there]) await expect(page.getByRole("row").filter({ hasText: socket.id! })).toHaveCount(1);
});
