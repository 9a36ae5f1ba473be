// The page's reading comforts: day separators and times, "latest messages" when scrolled up,
// the tab title counting what arrived while hidden, the theme toggle, long words wrapped.
import { errorsOf, expect, openChat, test } from "../../support/fixtures";
import { ChatServer, freshDatabase, seedDatabase } from "../../support/server";

test("day separators, jump to latest, the hidden tab's title, the theme toggle, long words", async ({ browser }) => {
  const db = freshDatabase();
  await seedDatabase(db, 60);
  const server = await ChatServer.start({}, db);
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 700 } });
    await openChat(page, server.url);
    await expect(page.getByTestId("day-separator")).toHaveCount(1);
    await expect(page.getByTestId("day-separator")).toHaveText("Today");
    await expect(page.getByTestId("message-time").first()).toHaveText(/^\d{2}:\d{2}$/);

    // Scrolled up: a way back to the latest; it takes the reader there and goes away.
    const list = page.getByTestId("messages");
    await list.evaluate((ul) => ul.scrollTo(0, 0));
    await expect(page.getByTestId("jump-latest")).toBeVisible();
    await page.getByTestId("jump-latest").click();
    await expect(page.getByTestId("jump-latest")).toBeHidden();
    expect(await list.evaluate((ul) => ul.scrollHeight - ul.scrollTop - ul.clientHeight)).toBeLessThan(80);

    // A long word wraps inside the list instead of widening it.
    const other = await browser.newPage();
    await openChat(other, server.url);
    await other.getByTestId("message-input").fill("x".repeat(400));
    await other.getByTestId("message-input").press("Enter");
    await expect(page.getByTestId("message-content").last()).toHaveText("x".repeat(400));
    expect(await list.evaluate((ul) => ul.scrollWidth <= ul.clientWidth)).toBe(true);

    // While the tab is hidden, the title counts what arrives; back on screen, it clears.
    await page.evaluate(() => {
      Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
      document.dispatchEvent(new Event("visibilitychange", { bubbles: true }));
    });
    for (const text of ["one", "two"]) {
      await other.getByTestId("message-input").fill(text);
      await other.getByTestId("message-input").press("Enter");
      await expect(page.getByTestId("message-content").last()).toHaveText(text);
    }
    await expect(page).toHaveTitle("(2) socket-chat");
    await page.evaluate(() => {
      Object.defineProperty(document, "hidden", { configurable: true, get: () => false });
      document.dispatchEvent(new Event("visibilitychange", { bubbles: true }));
    });
    await expect(page).toHaveTitle("socket-chat");

    // The theme toggle switches and is remembered across a reload.
    const before = await page.evaluate(() => document.documentElement.getAttribute("data-theme"));
    await page.getByTestId("theme-toggle").click();
    const after = await page.evaluate(() => document.documentElement.getAttribute("data-theme"));
    expect(after).not.toBe(before);
    await page.reload();
    await expect(page.locator("html")).toHaveAttribute("data-theme", after!);
    expect(errorsOf(page)).toEqual([]);
  } finally {
    await server.stop();
  }
});
