// Nothing lost, nothing doubled, in Chromium: disconnections, offline writing, reloads,
// and a server killed while a page sends.
import { Page } from "@playwright/test";
import { errorsOf, expect, openChat, test } from "../../support/fixtures";

const delivered = (page: Page) => page.locator('[data-testid="message"][data-state="delivered"] [data-testid="message-content"]');

async function write(page: Page, text: string) {
  await page.getByTestId("message-input").fill(text);
  await page.getByTestId("send-button").click();
}

for (const how of ["toggle", "browser offline"] as const) {
  test(`a page cut off (${how}) gets exactly what it missed, once, in order`, async ({ browser, server }) => {
    const contextA = await browser.newContext();
    const a = await contextA.newPage();
    const b = await browser.newPage();
    await openChat(a, server.url);
    await openChat(b, server.url);
    await write(a, "before");
    await expect(delivered(b)).toHaveText(["before"]);

    if (how === "toggle") await a.getByTestId("connect-toggle").click();
    else await contextA.setOffline(true);
    await expect(a.getByTestId("connection-status")).toHaveText("disconnected", { timeout: 15_000 });

    const missed = ["m1", "m2", "m3", "m4", "m5"];
    for (const text of missed) await write(b, text);
    await expect(delivered(b)).toHaveText(["before", ...missed]);
    await expect(delivered(a)).toHaveText(["before"]);

    if (how === "toggle") await a.getByTestId("connect-toggle").click();
    else await contextA.setOffline(false);
    await expect(a.getByTestId("connection-status")).toHaveText("connected", { timeout: 15_000 });
    await expect(delivered(a)).toHaveText(["before", ...missed]);
    expect(errorsOf(a)).toEqual([]);
  });
}

test("messages written offline survive a reload and are delivered once, in order", async ({ browser, server }) => {
  const a = await browser.newPage();
  const b = await browser.newPage();
  await openChat(a, server.url);
  await openChat(b, server.url);
  await a.getByTestId("connect-toggle").click();
  await expect(a.getByTestId("connection-status")).toHaveText("disconnected");
  const written = ["offline 1", "offline 2", "offline 3"];
  for (const text of written) await write(a, text);
  await expect(a.locator('[data-testid="message"][data-state="pending"] [data-testid="message-content"]')).toHaveText(written);
  await expect(a.locator('[data-testid="message"][data-state="pending"]').first()).toContainText("sending…");

  await a.reload();
  await expect(a.getByTestId("connection-status")).toHaveText("connected", { timeout: 15_000 });
  await expect(delivered(a)).toHaveText(written);
  await expect(delivered(b)).toHaveText(written);
  await expect(a.locator('[data-testid="message"][data-state="pending"]')).toHaveCount(0);
  // Another reload sends nothing again.
  await a.reload();
  await expect(a.getByTestId("connection-status")).toHaveText("connected", { timeout: 15_000 });
  await b.reload();
  await expect(delivered(b)).toHaveText(written);
});

test("a server killed while a page sends: after the restart, each message exists once", async ({ browser, server }) => {
  const a = await browser.newPage();
  await openChat(a, server.url);
  const texts = Array.from({ length: 12 }, (_, i) => `burst ${i + 1}`);
  for (const [i, text] of texts.entries()) {
    await write(a, text);
    if (i === 5) await server.stop("SIGKILL");
  }
  await expect(a.getByTestId("connection-status")).toHaveText("disconnected", { timeout: 15_000 });
  const restarted = await server.restart();
  try {
    await expect(a.getByTestId("connection-status")).toHaveText("connected", { timeout: 20_000 });
    await expect(delivered(a)).toHaveText(texts, { timeout: 30_000 });
    // What the server has: a fresh page renders it, each once, in order.
    const b = await browser.newPage();
    await openChat(b, restarted.url);
    await expect(delivered(b)).toHaveText(texts);
  } finally {
    await restarted.stop();
  }
});
