// Client delivery's last resort: a message no try gets through is marked "not sent" with a
// Retry button, and Retry delivers it, once.
import { expect, openChat, test } from "../../support/fixtures";

test("a message whose every try is lost is marked failed, and Retry delivers it once", async ({ browser, server }) => {
  test.setTimeout(90_000);
  const a = await browser.newPage();
  const b = await browser.newPage();
  // Between page A and the server: while `losing`, A's chat messages never reach the server
  // (as on a network that drops them), so no try is acknowledged.
  let losing = true;
  let lost = 0;
  await a.routeWebSocket(/\/socket\.io\//, (page) => {
    const server = page.connectToServer();
    page.onMessage((frame) => {
      if (losing && typeof frame === "string" && /^42\d+\["chat message"/.test(frame)) {
        lost++;
        return;
      }
      server.send(frame);
    });
    server.onMessage((frame) => page.send(frame));
  });
  await openChat(a, server.url);
  await openChat(b, server.url);

  await a.getByTestId("message-input").fill("through a bad network");
  await a.getByTestId("send-button").click();
  const mine = a.locator('[data-testid="message"]').filter({ hasText: "through a bad network" });
  await expect(mine).toHaveAttribute("data-state", "pending");
  // Three tries of 5 s each (the first and two retries), then failed.
  await expect(mine).toHaveAttribute("data-state", "failed", { timeout: 25_000 });
  expect(lost).toBe(3);
  await expect(mine).toContainText("not sent");
  await expect(b.getByTestId("message").filter({ hasText: "through a bad network" })).toHaveCount(0);

  losing = false;
  await mine.getByTestId("message-retry").click();
  const delivered = (page: typeof a) =>
    page.locator('[data-testid="message"][data-state="delivered"]').filter({ hasText: "through a bad network" });
  await expect(delivered(a)).toHaveCount(1);
  await expect(delivered(b)).toHaveCount(1);
  await expect(a.locator('[data-testid="message"][data-state="failed"]')).toHaveCount(0);
});
