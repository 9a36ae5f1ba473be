// The official Socket.IO Admin UI (npm @socket.io/admin-ui, served at /admin-ui/) against
// socket-chat, in Chromium: it logs in, lists the sockets of three chat pages with their
// rooms, shows a room a page joins, makes a socket join a room, and disconnects a socket,
// which its page then shows. The UI's elements are found by role and text (it is not ours);
// the chat pages' by data-testid.
import { Page } from "@playwright/test";
import { adminArgs, loginToAdminUi } from "../../support/admin";
import { errorsOf, expect, openChat, test } from "../../support/fixtures";

test.use({ serverOptions: { args: adminArgs() } });

/** A chat page's socket id, which the page shows as its own room. */
async function socketId(page: Page): Promise<string> {
  const id = (await page.getByTestId("own-room").textContent())?.trim() ?? "";
  expect(id).toMatch(/^[\w-]{10,}$/);
  return id;
}

test("the Admin UI lists the pages' sockets and rooms, joins a room, disconnects a socket", async ({ browser, server }) => {
  const [a, b, c] = await Promise.all([browser.newPage(), browser.newPage(), browser.newPage()]);
  for (const page of [a, b, c]) await openChat(page, server.url);
  const [idA, idB, idC] = [await socketId(a), await socketId(b), await socketId(c)];

  const admin = await browser.newPage();
  await loginToAdminUi(admin, server.url);
  await expect(admin.getByRole("button", { name: "Connect" })).toBeHidden();

  // The sockets of the three pages.
  await admin.getByRole("navigation").getByRole("link", { name: "Sockets" }).click();
  const row = (id: string) => admin.getByRole("row").filter({ hasText: id });
  for (const id of [idA, idB, idC]) await expect(row(id)).toHaveCount(1);

  // A room joined from a page appears (socketioxide room `room:<name>` for chat room <name>).
  await admin.getByRole("navigation").getByRole("link", { name: "Rooms" }).click();
  await a.getByTestId("room-input").fill("rust");
  await a.getByTestId("room-join").click();
  await expect(a.locator('[data-testid="room"][data-room="rust"]')).toHaveAttribute("data-joined", "true");
  await expect(admin.getByRole("row").filter({ hasText: "room:rust" })).toHaveCount(1);

  // Each socket with its rooms: A's include the one it joined.
  await admin.getByRole("navigation").getByRole("link", { name: "Sockets" }).click();
  await row(idA).click();
  await expect(admin.getByRole("cell", { name: "room:rust", exact: true })).toBeVisible();
  await expect(admin.getByRole("cell", { name: "chat:live", exact: true })).toBeVisible();
  await expect(admin.getByRole("cell", { name: idA, exact: true }).first()).toBeVisible();

  // The UI makes B join a chat room; B's page is told the room's new member count.
  await admin.getByRole("navigation").getByRole("link", { name: "Sockets" }).click();
  await row(idB).click();
  const joinField = admin.getByLabel("Join a room");
  await joinField.fill("room:ops");
  // The form's one button ("Join", an icon).
  await admin.locator("form").filter({ has: joinField }).getByRole("button").last().click();
  await expect(admin.getByRole("cell", { name: "room:ops", exact: true })).toBeVisible();
  await expect(b.locator('[data-testid="room"][data-room="ops"]')).toHaveAttribute("data-members", "1");

  // The UI disconnects C: C's page shows it, the UI drops it.
  await admin.getByRole("navigation").getByRole("link", { name: "Sockets" }).click();
  await row(idC).getByRole("button").click();
  await expect(c.getByTestId("connection-status")).toHaveText("disconnected");
  await expect(c.getByTestId("connection-detail")).toHaveText("io server disconnect");
  // (The click also opens the socket's page, which now says it is disconnected.)
  await expect(admin.getByRole("row", { name: `ID ${idC}` })).toBeVisible();
  await expect(admin.getByRole("row", { name: "Status disconnected" }).first()).toBeVisible();
  await admin.getByRole("navigation").getByRole("link", { name: "Sockets" }).click();
  await expect(row(idC)).toHaveCount(0);
  await expect(row(idA)).toHaveCount(1);

  // The others chat on.
  await a.getByTestId("room-everyone").click();
  await a.getByTestId("message-input").fill("still here");
  await a.getByTestId("send-button").click();
  await expect(b.getByTestId("message").filter({ hasText: "still here" })).toHaveCount(1);
  for (const page of [a, b, c]) expect(errorsOf(page)).toEqual([]);
});
