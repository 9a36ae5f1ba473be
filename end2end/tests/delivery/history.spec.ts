// History in a room of 100 000 messages: the first render and each older page, timed and
// printed (figures, not assertions on speed), and checked for gaps.
import { Page } from "@playwright/test";
import { expect, openChat, test } from "../../support/fixtures";
import { ChatServer, freshDatabase, seedDatabase } from "../../support/server";

const TOTAL = 100_000;
const PAGE = 50;
const PAGES = 5;

const delivered = (page: Page) => page.locator('[data-testid="message"][data-state="delivered"]');

/** Scrolls to the top once per page, timing each page; returns the times in ms. */
async function scrollUp(page: Page): Promise<number[]> {
  const times: number[] = [];
  for (let i = 1; i <= PAGES; i++) {
    const started = Date.now();
    await page.getByTestId("messages").evaluate((list) => (list.scrollTop = 0));
    await expect(delivered(page)).toHaveCount(PAGE * (i + 1), { timeout: 10_000 });
    times.push(Date.now() - started);
  }
  return times;
}

/** The visible texts must be the last messages, in order, with no gap. */
async function expectContiguous(page: Page, count: number) {
  const texts = await delivered(page).getByTestId("message-content").allTextContents();
  const expected = Array.from({ length: count }, (_, i) => `Seeded message ${TOTAL - count + 1 + i}`);
  expect(texts).toEqual(expected);
}

test("scrolling up through 100 000 messages loads older pages, for everyone and in a room", async ({ page }) => {
  test.setTimeout(120_000);
  const db = freshDatabase();
  await seedDatabase(db, TOTAL);
  await seedDatabase(db, TOTAL, "big");
  const server = await ChatServer.start({}, db);
  try {
    let started = Date.now();
    await page.goto(server.url);
    await expect(delivered(page)).toHaveCount(PAGE);
    const firstRender = Date.now() - started;
    await expect(page.getByTestId("connection-status")).toHaveText("connected", { timeout: 15_000 });
    const interactive = Date.now() - started;
    const everyonePages = await scrollUp(page);
    await expectContiguous(page, PAGE * (PAGES + 1));

    started = Date.now();
    await page.getByTestId("room-input").fill("big");
    await page.getByTestId("room-join").click();
    await expect(page.getByTestId("chat-title")).toHaveText("# big");
    await expect(delivered(page)).toHaveCount(PAGE);
    const roomFirst = Date.now() - started;
    const roomPages = await scrollUp(page);
    await expectContiguous(page, PAGE * (PAGES + 1));

    const line = (name: string, times: number[]) => `${name}: ${times.join(", ")} ms`;
    console.log(
      [
        `history of ${TOTAL} messages (debug build, ${PAGE} per page)`,
        `  everyone: first render ${firstRender} ms, connected ${interactive} ms`,
        `  ${line("everyone, older pages", everyonePages)}`,
        `  room: first render after join ${roomFirst} ms`,
        `  ${line("room, older pages", roomPages)}`,
      ].join("\n"),
    );
  } finally {
    await server.stop();
  }
});
