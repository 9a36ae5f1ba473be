// The Socket.IO panels in Chromium, three pages: rooms (to / except / leave), the
// connect toggle, acknowledgements and the event log.
import { errorsOf, expect, openChat, test } from "../../support/fixtures";
import { join, message, send } from "../../support/chat-page";

test("rooms: to R reaches only R, except R only the others, leaving stops delivery", async ({ browser, server }) => {
  const [a, b, c] = [await browser.newPage(), await browser.newPage(), await browser.newPage()];
  for (const page of [a, b, c]) await openChat(page, server.url);

  await join(a, "rust");
  await join(b, "rust");
  for (const page of [a, b, c]) {
    await expect(page.locator('[data-testid="room"][data-room="rust"]')).toHaveAttribute("data-members", "2");
  }

  await send(a, "only for rust", "room");
  await expect(message(a, "only for rust")).toHaveCount(1);
  await expect(message(b, "only for rust")).toHaveCount(1);

  await send(a, "everyone but rust", "except");
  await expect(message(c, "everyone but rust")).toHaveCount(1);
  await a.getByTestId("room-everyone").click();
  await b.getByTestId("room-everyone").click();
  await send(c, "to all", "all");
  for (const page of [a, b]) {
    await expect(message(page, "to all")).toHaveCount(1);
    await expect(message(page, "everyone but rust")).toHaveCount(0);
  }
  // C never saw the room's message, in any view.
  await expect(message(c, "only for rust")).toHaveCount(0);
  await c.locator('[data-testid="room"][data-room="rust"]').click();
  await expect(c.getByTestId("chat-title")).toHaveText("# rust");
  // Joining by a click brings the room's history.
  await expect(message(c, "only for rust")).toHaveCount(1);

  // B leaves: the count drops everywhere, and the next message to rust does not reach B.
  await b.locator('[data-testid="room"][data-room="rust"]').click();
  await b.getByTestId("room-leave").click();
  await expect(b.getByTestId("chat-title")).toHaveText("Everyone");
  await expect(a.locator('[data-testid="room"][data-room="rust"]')).toHaveAttribute("data-members", "2");
  await a.locator('[data-testid="room"][data-room="rust"]').click();
  await send(a, "after B left", "room");
  await expect(message(c, "after B left")).toHaveCount(1);
  // B's socket received nothing more for rust (its event log sees every incoming event).
  const toB = b.locator('[data-testid="event-log-entry"][data-direction="in"][data-event="chat message"]');
  await expect(toB.filter({ hasText: "only for rust" })).toHaveCount(1);
  await expect(toB.filter({ hasText: "after B left" })).toHaveCount(0);

  for (const page of [a, b, c]) expect(errorsOf(page)).toEqual([]);
});

test("the toggle disconnects and reconnects, and the status says so", async ({ page, server }) => {
  await openChat(page, server.url);
  const status = page.getByTestId("connection-status");
  const toggle = page.getByTestId("connect-toggle");
  await expect(toggle).toHaveText("Disconnect");
  await toggle.click();
  await expect(status).toHaveText("disconnected");
  await expect(page.getByTestId("connection-detail")).toHaveText("io client disconnect");
  await expect(toggle).toHaveText("Connect");
  await toggle.click();
  await expect(status).toHaveText("connected");
  await expect(toggle).toHaveText("Disconnect");
  // A message goes through after the reconnection.
  await page.getByTestId("message-input").fill("back again");
  await page.getByTestId("send-button").click();
  await expect(message(page, "back again")).toHaveCount(1);
});

test("acks move from pending to ok, and to timeout when the server withholds", async ({ page, server }) => {
  await openChat(page, server.url);
  const entries = (event: string) => page.locator(`[data-testid="ack-entry"][data-event="${event}"]`);

  await page.getByTestId("ack-request-callback").click();
  await expect(entries("request").first()).toHaveAttribute("data-status", "ok");
  await expect(entries("request").first()).toContainText('"status": "ok"');
  await page.getByTestId("ack-request-promise").click();
  await expect(entries("request2").first()).toHaveAttribute("data-status", "ok");
  await expect(entries("request2").first()).toContainText("ok from request 2");

  // A server-to-client ack: the server asks the page, which answers; the server times it.
  await page.getByTestId("rtt-measure").click();
  await expect(page.getByTestId("rtt-value")).toContainText(/round trip \d+\.\d ms/);
  await expect(page.locator('[data-testid="event-log-entry"][data-direction="in"][data-event="rtt:probe"]')).toHaveCount(1);

  await page.getByTestId("ack-withhold").check();
  await expect(entries("withhold").first()).toHaveAttribute("data-status", "ok");
  await page.getByTestId("ack-request-callback").click();
  const pending = entries("request").first();
  await expect(pending).toHaveAttribute("data-status", "pending");
  await expect(pending).toHaveAttribute("data-status", "timeout", { timeout: 8_000 });
  await expect(pending).toContainText("the server did not acknowledge the event in the given delay");
});

test("the event log shows both directions, binary as bytes, and filters, pauses and clears", async ({
  page,
  server,
  connect,
}) => {
  await openChat(page, server.url);
  const entries = page.getByTestId("event-log-entry");
  await page.getByTestId("ack-request-callback").click();
  const out = page.locator('[data-testid="event-log-entry"][data-direction="out"][data-event="request"]');
  await expect(out).toHaveCount(1);
  await expect(out.getByTestId("event-log-ack")).toContainText('"status": "ok"');

  // An incoming event, from another client.
  const other = await connect();
  await other.timeout(5000).emitWithAck("chat message", "hello log", "o-1");
  const incoming = page.locator('[data-testid="event-log-entry"][data-direction="in"][data-event="chat message"]');
  await expect(incoming).toHaveCount(1);
  await expect(incoming).toContainText("hello log");

  // The seed's catch-all example, sent from the page: its binary part shows as bytes.
  await page.getByTestId("catch-all-send").click();
  const catchAll = page.locator('[data-testid="event-log-entry"][data-event="catch-all-listeners"]');
  await expect(catchAll).toHaveAttribute("data-direction", "out");
  await expect(catchAll).toContainText("<bytes 06>");
  await expect(catchAll.getByTestId("event-log-ack")).toContainText("catch-all-listeners");

  // Filter by name, then by direction.
  await page.getByTestId("event-log-filter").fill("chat");
  await expect(entries).toHaveCount(1);
  await page.getByTestId("event-log-filter").fill("");
  await page.getByTestId("event-log-direction").selectOption("in");
  // Not vacuous: the incoming chat message is listed, and nothing else but incoming events.
  await expect(entries.filter({ hasText: "chat message" })).not.toHaveCount(0);
  for (const entry of await entries.all()) await expect(entry).toHaveAttribute("data-direction", "in");
  await page.getByTestId("event-log-direction").selectOption("all");

  // Paused, nothing new is recorded; cleared, nothing is left.
  await page.getByTestId("event-log-pause").click();
  const before = await entries.count();
  await page.getByTestId("ack-request-promise").click();
  await expect(page.locator('[data-testid="ack-entry"][data-event="request2"]')).toHaveAttribute("data-status", "ok");
  await expect(entries).toHaveCount(before);
  await page.getByTestId("event-log-pause").click();
  await page.getByTestId("event-log-clear").click();
  await expect(entries).toHaveCount(0);
  expect(errorsOf(page)).toEqual([]);
});

test("typing shows on the other page only", async ({ browser, server }) => {
  const [a, b] = [await browser.newPage(), await browser.newPage()];
  await openChat(a, server.url);
  await openChat(b, server.url);
  await a.getByTestId("message-input").pressSequentially("hel");
  await expect(b.getByTestId("typing-indicator")).toBeVisible();
  await expect(b.getByTestId("typing-indicator")).toHaveText("Someone is typing…");
  // A notice to the sender would arrive about when B's did: give it time to show, while B's
  // still shows (a notice lasts 3 s), then check the sender shows none.
  await a.waitForTimeout(1_000);
  await expect(b.getByTestId("typing-indicator")).toBeVisible();
  await expect(a.getByTestId("typing-indicator")).toBeHidden();
  // It fades after a few seconds without typing.
  await expect(b.getByTestId("typing-indicator")).toBeHidden({ timeout: 6_000 });
});

test("messages written while disconnected wait, then go out on reconnection", async ({ browser, server }) => {
  const [a, b] = [await browser.newPage(), await browser.newPage()];
  await openChat(a, server.url);
  await openChat(b, server.url);
  await a.getByTestId("connect-toggle").click();
  await expect(a.getByTestId("connection-status")).toHaveText("disconnected");
  for (const text of ["offline one", "offline two"]) {
    await a.getByTestId("message-input").fill(text);
    await a.getByTestId("send-button").click();
  }
  await expect(a.getByTestId("outbox-count")).toHaveText("2 messages waiting");
  await expect(message(b, "offline one")).toHaveCount(0);
  await a.getByTestId("connect-toggle").click();
  await expect(a.getByTestId("connection-status")).toHaveText("connected");
  await expect(b.getByTestId("message-content")).toHaveText(["offline one", "offline two"]);
  await expect(a.getByTestId("message-content")).toHaveText(["offline one", "offline two"]);
  await expect(a.getByTestId("outbox-count")).toBeHidden();
});
