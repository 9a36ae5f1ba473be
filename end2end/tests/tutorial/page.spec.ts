// /tutorial, the Socket.IO tutorial's final page (plain HTML and JavaScript with the official
// client from /socket.io/socket.io.js), chatting with our Leptos page through the same server;
// across a server restart it misses nothing and sends everything once.
import { Page } from "@playwright/test";
import { io } from "socket.io-client";
import { errorsOf, expect, openChat, test } from "../../support/fixtures";

/** Opens /tutorial and waits until its socket is connected. */
async function openTutorial(page: Page, url: string): Promise<void> {
  errorsOf(page);
  await page.goto(`${url}/tutorial`);
  await expect(page.getByTestId("tutorial-status")).toHaveText("connected");
}

async function sendFromTutorial(page: Page, text: string): Promise<void> {
  await page.getByTestId("tutorial-input").fill(text);
  await page.getByTestId("tutorial-input").press("Enter");
  await expect(page.getByTestId("tutorial-input")).toHaveValue("");
}

async function sendFromLeptos(page: Page, text: string): Promise<void> {
  await page.getByTestId("message-input").fill(text);
  await page.getByTestId("send-button").click();
}

const tutorialMessages = (page: Page) => page.getByTestId("tutorial-message");
const leptosMessages = (page: Page) =>
  page.locator('[data-testid="message"][data-state="delivered"] [data-testid="message-content"]');

test("the tutorial's page keeps the tutorial's ids and loads the client from this server", async ({ page, server }) => {
  const scripts: string[] = [];
  page.on("request", (r) => scripts.push(new URL(r.url()).pathname));
  await openTutorial(page, server.url);
  for (const id of ["form", "input", "messages", "toggle-btn"]) await expect(page.locator(`#${id}`)).toHaveCount(1);
  expect(scripts).toContain("/socket.io/socket.io.js");
  // The toggle disconnects and reconnects, as in the tutorial.
  await page.locator("#toggle-btn").click();
  await expect(page.getByTestId("tutorial-status")).toHaveText("disconnected");
  await expect(page.locator("#toggle-btn")).toHaveText("Connect");
  await page.locator("#toggle-btn").click();
  await expect(page.getByTestId("tutorial-status")).toHaveText("connected");
  expect(errorsOf(page)).toEqual([]);
});

test("the tutorial's page and the Leptos page chat both ways", async ({ browser, server }) => {
  const tutorial = await browser.newPage();
  const leptos = await browser.newPage();
  await openTutorial(tutorial, server.url);
  await openChat(leptos, server.url);

  await sendFromTutorial(tutorial, "from the tutorial");
  await expect(leptosMessages(leptos)).toHaveText(["from the tutorial"]);
  await expect(tutorialMessages(tutorial)).toHaveText(["from the tutorial"]);

  await sendFromLeptos(leptos, "from Leptos");
  await expect(tutorialMessages(tutorial)).toHaveText(["from the tutorial", "from Leptos"]);
  await expect(leptosMessages(leptos)).toHaveText(["from the tutorial", "from Leptos"]);

  // A new tutorial page gets the history from auth.serverOffset = 0, as in the tutorial.
  const late = await browser.newPage();
  await openTutorial(late, server.url);
  await expect(tutorialMessages(late)).toHaveText(["from the tutorial", "from Leptos"]);
  expect(errorsOf(tutorial)).toEqual([]);
  expect(errorsOf(leptos)).toEqual([]);
});

test("across a server restart the tutorial's page misses nothing and sends everything once", async ({ browser, server }) => {
  const tutorial = await browser.newPage();
  const leptos = await browser.newPage();
  await openTutorial(tutorial, server.url);
  await openChat(leptos, server.url);
  await sendFromTutorial(tutorial, "t1");
  await sendFromLeptos(leptos, "l1");
  await expect(tutorialMessages(tutorial)).toHaveText(["t1", "l1"]);

  await server.stop();
  await expect(tutorial.getByTestId("tutorial-status")).toHaveText("disconnected");
  // Written while the server is down: the client buffers it, and retries until acknowledged.
  await sendFromTutorial(tutorial, "t-offline");

  const restarted = await server.restart();
  try {
    // Sent by another client as soon as the server is back, before or after the page
    // reconnects: the page gets it either way (replay from its serverOffset, or live).
    const early = io(restarted.url, { transports: ["websocket"], reconnection: false });
    await early.timeout(5_000).emitWithAck("chat message", "early", `early-${Date.now()}`);
    early.close();

    await expect(tutorial.getByTestId("tutorial-status")).toHaveText("connected", { timeout: 15_000 });
    await expect(leptos.getByTestId("connection-status")).toHaveText("connected", { timeout: 15_000 });
    const expected = ["t1", "l1", "early", "t-offline"];
    await expect.poll(async () => (await tutorialMessages(tutorial).allTextContents()).sort()).toEqual([...expected].sort());
    await expect.poll(async () => (await leptosMessages(leptos).allTextContents()).sort()).toEqual([...expected].sort());

    // Cut off with the toggle, the page gets what it missed, once, in order.
    await tutorial.locator("#toggle-btn").click();
    await expect(tutorial.getByTestId("tutorial-status")).toHaveText("disconnected");
    for (const text of ["m1", "m2", "m3"]) await sendFromLeptos(leptos, text);
    await expect(leptosMessages(leptos).last()).toHaveText("m3");
    await tutorial.locator("#toggle-btn").click();
    await expect(tutorial.getByTestId("tutorial-status")).toHaveText("connected");
    await expect.poll(async () => (await tutorialMessages(tutorial).allTextContents()).slice(-3)).toEqual(["m1", "m2", "m3"]);
    await expect(tutorialMessages(tutorial)).toHaveCount(expected.length + 3);
    // The page's order is the server's (offsets increase).
    const offsets = await tutorialMessages(tutorial).evaluateAll((items) => items.map((i) => Number((i as HTMLElement).dataset.offset)));
    expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
  } finally {
    await restarted.stop();
  }
});
