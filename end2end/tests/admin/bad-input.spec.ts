// Bad input to the Admin UI's side: wrong credentials, commands on a read-only server,
// unknown namespaces and filters, a server without an admin or without the UI's files. Each
// gets the error the UI expects (or our ack envelope when asked), and the chat keeps running.
import { Socket } from "socket.io-client";
import { adminArgs, ADMIN_PASSWORD, ADMIN_USER, connectAdmin, loginToAdminUi } from "../../support/admin";
import { ChatServer } from "../../support/server";
import { errorsOf, expect, openChat, test } from "../../support/fixtures";

/** Asks for an ack (the UI never does, other clients may). */
function command(admin: Socket, ...args: unknown[]): Promise<any> {
  return admin.timeout(5_000).emitWithAck(args[0] as string, ...args.slice(1));
}

/** The chat still works: a message is acknowledged and broadcast. */
async function chatStillWorks(connect: (o?: object) => Promise<Socket>): Promise<void> {
  const alice = await connect();
  const ack = await alice.timeout(5_000).emitWithAck("chat message", "the chat runs", `bad-${Date.now()}`);
  expect(ack.status).toBe("ok");
}

test.describe("with an admin user", () => {
  test.use({ serverOptions: { args: adminArgs() } });

  test("wrong credentials: the UI says so, the chat runs on", async ({ browser, server }) => {
    const admin = await browser.newPage();
    await loginToAdminUi(admin, server.url, "not the password");
    await expect(admin.getByText("Invalid credentials")).toBeVisible();
    await expect(admin.getByRole("button", { name: "Connect" })).toBeVisible();

    const a = await browser.newPage();
    const b = await browser.newPage();
    await openChat(a, server.url);
    await openChat(b, server.url);
    await a.getByTestId("message-input").fill("after a failed login");
    await a.getByTestId("send-button").click();
    await expect(b.getByTestId("message").filter({ hasText: "after a failed login" })).toHaveCount(1);
    expect(errorsOf(a)).toEqual([]);
  });

  test("no credentials, a wrong user, a forged session: invalid credentials", async ({ server }) => {
    for (const auth of [{}, { username: "root", password: ADMIN_PASSWORD }, { username: ADMIN_USER }, { sessionId: "abc" }, { username: 1 }]) {
      await expect(connectAdmin(server.url, auth), JSON.stringify(auth)).rejects.toThrow("invalid credentials");
    }
  });

  test("unknown namespaces and bad filters get an error; the chat runs on", async ({ server, connect }) => {
    const { socket: admin } = await connectAdmin(server.url, { username: ADMIN_USER, password: ADMIN_PASSWORD });
    const chat = await connect();
    try {
      const error = (code: string) => ({ status: "error", error: { code, message: expect.any(String) } });
      expect(await command(admin, "join", "/nowhere", "room")).toEqual(error("unknown_namespace"));
      expect(await command(admin, "_disconnect", "/nowhere", false)).toEqual(error("unknown_namespace"));
      expect(await command(admin, "emit", "/nowhere", null, "x")).toEqual(error("unknown_namespace"));
      expect(await command(admin, "join", "/", "room", 42)).toEqual(error("invalid_arguments"));
      expect(await command(admin, "leave", "/", "", chat.id)).toEqual(error("invalid_arguments"));
      expect(await command(admin, "_disconnect", "/", "yes", chat.id)).toEqual(error("invalid_arguments"));
      expect(await command(admin, "emit", 5)).toEqual(error("invalid_arguments"));
      // A filter nobody matches does nothing, as in socket.io.
      expect(await command(admin, "_disconnect", "/", false, "nobody-is-here")).toEqual({ status: "ok", data: { sockets: 0 } });
      expect(chat.connected).toBe(true);
      // The emit command reaches the chosen socket.
      const got = new Promise((resolve) => chat.once("notice", (...args) => resolve(args)));
      expect(await command(admin, "emit", "/", chat.id, "notice", "from the admin", 2)).toEqual({ status: "ok", data: { sockets: 1 } });
      expect(await got).toEqual(["from the admin", 2]);
      await chatStillWorks(connect);
    } finally {
      admin.close();
    }
  });
});

test.describe("read-only", () => {
  test.use({ serverOptions: { args: adminArgs("--admin-read-only") } });

  test("commands are refused, the UI offers none, the sockets stay", async ({ browser, server, connect }) => {
    const { socket: admin, events } = await connectAdmin(server.url, { username: ADMIN_USER, password: ADMIN_PASSWORD });
    const chat = await connect();
    try {
      await expect.poll(() => events.find((e) => e[0] === "config")).toEqual(["config", { supportedFeatures: ["AGGREGATED_EVENTS", "ALL_EVENTS"] }]);
      const refused = { status: "error", error: { code: "read_only", message: expect.stringContaining("read-only") } };
      expect(await command(admin, "_disconnect", "/", false, chat.id)).toEqual(refused);
      expect(await command(admin, "join", "/", "room:x", chat.id)).toEqual(refused);
      expect(await command(admin, "leave", "/", "chat:live")).toEqual(refused);
      expect(await command(admin, "emit", "/", null, "x")).toEqual(refused);
      // Without an ack, as the UI sends them: nothing happens either.
      admin.emit("_disconnect", "/", true);
      expect(await command(admin, "join", "/", "room:x")).toEqual(refused);
      expect(chat.connected).toBe(true);
      await chatStillWorks(connect);
    } finally {
      admin.close();
    }

    // The UI lists the pages' sockets but offers no disconnect button.
    const page = await browser.newPage();
    await openChat(page, server.url);
    const id = (await page.getByTestId("own-room").textContent())!.trim();
    const ui = await browser.newPage();
    await loginToAdminUi(ui, server.url);
    await ui.getByRole("navigation").getByRole("link", { name: "Sockets" }).click();
    const row = ui.getByRole("row").filter({ hasText: id });
    await expect(row).toHaveCount(1);
    await expect(row.getByRole("button")).toHaveCount(0);
  });
});

test("without an admin user there is no /admin namespace, and /admin-ui/ says why", async ({ server, request }) => {
  await expect(connectAdmin(server.url, { username: ADMIN_USER, password: ADMIN_PASSWORD })).rejects.toThrow("Invalid namespace");
  const response = await request.get(`${server.url}/admin-ui/`);
  expect(response.status()).toBe(404);
  expect(await response.text()).toContain("--admin-username");
});

test("the UI's files missing: a warning at start-up and a 404 that says why", async ({ request }) => {
  const server = await ChatServer.start({ args: adminArgs("--admin-ui-dir", "/nonexistent/ui") });
  try {
    const response = await request.get(`${server.url}/admin-ui/`);
    expect(response.status()).toBe(404);
    expect(await response.text()).toContain("not installed");
    expect(server.log.join("")).toContain("Admin UI is not installed in /nonexistent/ui");
  } finally {
    await server.stop();
  }
});
