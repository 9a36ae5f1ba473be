// The chat in headless Chromium: our WASM client, hydrated over server-rendered HTML.
import { errorsOf, expect, openChat, test } from "../../support/fixtures";

test("a message from A shows once in A and once in B, survives reloads and restarts", async ({ browser, server }) => {
  const a = await browser.newPage();
  const b = await browser.newPage();
  await openChat(a, server.url);
  await openChat(b, server.url);

  await a.getByTestId("message-input").fill("hello from A");
  await a.getByTestId("send-button").click();
  const sent = (page: typeof a) => page.getByTestId("message").filter({ hasText: "hello from A" });
  await expect(sent(a)).toHaveCount(1, { timeout: 2_000 });
  await expect(sent(b)).toHaveCount(1, { timeout: 2_000 });
  await expect(a.getByTestId("message-input")).toHaveValue("");

  // The history is in the HTML the server renders, before any WASM runs.
  const html = await (await b.request.get(server.url)).text();
  expect(html).toContain("hello from A");
  await b.reload();
  await expect(sent(b)).toHaveCount(1);

  // The server goes away: the page says so, then comes back with the history intact.
  await server.stop();
  await expect(a.getByTestId("connection-status")).toHaveText("disconnected");
  const restarted = await server.restart();
  try {
    await expect(a.getByTestId("connection-status")).toHaveText("connected", { timeout: 15_000 });
    await expect(sent(a)).toHaveCount(1);
    await openChat(b, restarted.url);
    await expect(sent(b)).toHaveCount(1);
    // And chat goes on after the restart.
    await b.getByTestId("message-input").fill("after the restart");
    await b.getByTestId("send-button").press("Enter");
    await expect(a.getByTestId("message").filter({ hasText: "after the restart" })).toHaveCount(1);
    expect(errorsOf(a)).toEqual([]);
    expect(errorsOf(b)).toEqual([]);
  } finally {
    await restarted.stop();
  }
});

test.describe("bad input", () => {
  test.use({ serverOptions: { args: ["--max-message-bytes", "20"] } });

  test("an empty or too long message gets a clear error and is not stored", async ({ page, server }) => {
    await openChat(page, server.url);
    const error = page.getByTestId("send-error");

    await page.getByTestId("send-button").click();
    await expect(error).toBeVisible();
    await expect(error).toHaveText("the message is empty");

    const long = "a message that is far too long";
    await page.getByTestId("message-input").fill(long);
    await page.getByTestId("send-button").click();
    await expect(error).toContainText("the limit is 20");
    // What was typed is given back, not lost.
    await expect(page.getByTestId("message-input")).toHaveValue(long);

    await page.getByTestId("message-input").fill("short one");
    await page.getByTestId("send-button").click();
    await expect(error).toBeHidden();
    await expect(page.getByTestId("message-content")).toHaveText(["short one"]);

    await page.reload();
    await expect(page.getByTestId("message-content")).toHaveText(["short one"]);
    expect(errorsOf(page)).toEqual([]);
  });
});
