// Our chat page against the tutorial's own server (the official Node.js `socket.io` running
// the tutorial's final handler, peers/official-tutorial-server.cjs), through `?server=`.
// That server speaks only the tutorial's shapes: a two-argument broadcast
// `(content, serverOffset)`, a bare `callback()` for an ack, `auth.serverOffset` for what a
// page missed. Our third broadcast argument and our ack envelope are extras the page must do
// without.
import path from "node:path";
import type { Page } from "@playwright/test";
import { errorsOf, expect, openChat, test } from "../../support/fixtures";
import { startListening, stopProcess } from "../../support/process";

const TUTORIAL_SERVER = path.join(__dirname, "..", "..", "peers", "official-tutorial-server.cjs");

const messages = (page: Page, text: string) => page.getByTestId("message").filter({ hasText: text });

test("two chat pages chat through the tutorial's own server", async ({ browser, server }) => {
  const tutorial = await startListening(process.execPath, [TUTORIAL_SERVER, "--port", "0", "--messages", "2"]);
  try {
    const url = `${server.url}/?server=${encodeURIComponent(tutorial.url)}`;
    const a = await browser.newPage();
    const b = await browser.newPage();
    await openChat(a, url);
    await openChat(b, url);

    // What the tutorial's server stored before: replayed after `auth.serverOffset`.
    for (const page of [a, b]) {
      await expect(messages(page, "Seeded message 1")).toHaveCount(1);
      await expect(messages(page, "Seeded message 2")).toHaveCount(1);
    }

    // A writes: B sees the two-argument broadcast, A counts the bare ack as delivered and
    // shows its message once (from the broadcast), never "not sent".
    await a.getByTestId("message-input").fill("hello from page A");
    await a.getByTestId("send-button").click();
    await expect(messages(b, "hello from page A")).toHaveCount(1);
    await expect(messages(a, "hello from page A")).toHaveCount(1);
    await expect(messages(a, "hello from page A")).toHaveAttribute("data-state", "delivered");

    // And back.
    await b.getByTestId("message-input").fill("hello from page B");
    await b.getByTestId("send-button").click();
    await expect(messages(a, "hello from page B")).toHaveCount(1);
    await expect(messages(b, "hello from page B")).toHaveAttribute("data-state", "delivered");

    // A page's acknowledgement panel shows the bare ack as answered, not as a timeout.
    await expect(a.locator('[data-testid="ack-entry"][data-event="chat message"]')).toHaveAttribute("data-status", "ok");

    // A reloaded page gets the whole conversation again, each message once, in order.
    await openChat(a, url);
    const texts = ["Seeded message 1", "Seeded message 2", "hello from page A", "hello from page B"];
    for (const text of texts) await expect(messages(a, text)).toHaveCount(1);
    const shown = await a.getByTestId("message-content").allTextContents();
    expect(shown.filter((t) => texts.includes(t))).toEqual(texts);
    await expect(a.locator('[data-testid="message"][data-state="failed"]')).toHaveCount(0);

    expect(errorsOf(a)).toEqual([]);
    expect(errorsOf(b)).toEqual([]);
  } finally {
    await stopProcess(tutorial.child);
  }
});
