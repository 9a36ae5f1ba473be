// Who is who, in Chromium: nicknames kept across tabs and reloads, presence counted once per
// person with a grace period, join and leave notices, private messages to every tab of both
// users and nobody else, unread counts that rise and clear on every tab.
import type { Browser, Page } from "@playwright/test";
import { errorsOf, expect, openChat, test } from "../../support/fixtures";

test.use({ serverOptions: { args: ["--presence-grace-ms", "1500"] } });

/** A person: their own browser context (own localStorage), and a first tab. */
async function person(browser: Browser, url: string, nickname: string): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await openChat(page, url);
  await page.getByTestId("nickname-input").fill(nickname);
  await page.getByTestId("nickname-save").click();
  await expect(page.getByTestId("me")).toHaveText(nickname);
  await expect(page.getByTestId("nickname-form")).toBeHidden();
  return page;
}

/** Another tab of the same person. */
async function anotherTab(page: Page, url: string): Promise<Page> {
  const tab = await page.context().newPage();
  await openChat(tab, url);
  return tab;
}

const online = (page: Page) => page.getByTestId("online-user");

async function send(page: Page, text: string) {
  await page.getByTestId("message-input").fill(text);
  await page.getByTestId("message-input").press("Enter");
  await expect(page.getByTestId("message").filter({ hasText: text })).toHaveAttribute("data-state", "delivered");
}

test("a nickname is kept across tabs and reloads, shown on messages, in the HTML too", async ({ browser, server }) => {
  const ada = await person(browser, server.url, "Ada");
  const second = await anotherTab(ada, server.url);
  // The second tab is the same person: no nickname asked, the same name.
  await expect(second.getByTestId("me")).toHaveText("Ada");
  await expect(second.getByTestId("nickname-form")).toBeHidden();
  await send(ada, "hello, I am Ada");
  const row = second.getByTestId("message").filter({ hasText: "hello, I am Ada" });
  await expect(row.getByTestId("message-author")).toHaveText("Ada");
  // The server renders the author with the history, before any WASM runs.
  const html = await (await ada.request.get(server.url)).text();
  expect(html).toMatch(/data-testid="message-author"[^>]*>Ada</);
  await second.reload();
  await expect(second.getByTestId("me")).toHaveText("Ada", { timeout: 15_000 });

  // A new name reaches the other tab; a bad one is refused with the reason.
  await second.getByTestId("me").click();
  await second.getByTestId("nickname-input").fill("<b>Ada</b>");
  await second.getByTestId("nickname-save").click();
  await expect(second.getByTestId("nickname-error")).toContainText("cannot contain");
  await second.getByTestId("nickname-input").fill("Ada L");
  await second.getByTestId("nickname-save").click();
  await expect(ada.getByTestId("me")).toHaveText("Ada L");
  expect(errorsOf(ada)).toEqual([]);
  expect(errorsOf(second)).toEqual([]);
});

test("presence counts a person once, waits before offline, and notices joins and leaves", async ({ browser, server }) => {
  const bob = await person(browser, server.url, "Bob");
  const ada = await person(browser, server.url, "Ada");
  const adaAgain = await anotherTab(ada, server.url);
  await expect(online(bob)).toHaveCount(2);
  await expect(online(bob).nth(0)).toHaveAttribute("data-user", "Ada");
  await expect(online(bob).nth(1)).toHaveAttribute("data-user", "Bob");
  await expect(bob.getByTestId("notice").filter({ hasText: "Ada is online" })).toHaveCount(1);

  // Rooms: the list shows the room's people; joining and leaving are noticed there.
  for (const page of [bob, ada]) {
    await page.getByTestId("room-input").fill("rust");
    await page.getByTestId("room-join").click();
    await expect(page.getByTestId("chat-title")).toHaveText("# rust");
  }
  await expect(bob.getByTestId("notice").filter({ hasText: "Ada joined #rust" })).toHaveCount(1);
  await expect(online(bob)).toHaveCount(2);
  await ada.getByTestId("room-leave").click();
  await expect(bob.getByTestId("notice").filter({ hasText: "Ada left #rust" })).toHaveCount(1);
  await expect(online(bob)).toHaveCount(1);

  // Ada closes one tab: still online. A reload is not a departure either.
  await bob.getByTestId("room-everyone").click();
  await adaAgain.close();
  await ada.reload();
  await expect(ada.getByTestId("connection-status")).toHaveText("connected", { timeout: 15_000 });
  await bob.waitForTimeout(2_000);
  await expect(online(bob)).toHaveCount(2);
  await expect(bob.getByTestId("notice").filter({ hasText: "Ada went offline" })).toHaveCount(0);
  // Her last tab closes: offline after the grace period, and said so.
  await ada.close();
  await expect(online(bob)).toHaveCount(2);
  await expect(online(bob)).toHaveCount(1, { timeout: 5_000 });
  await expect(bob.getByTestId("notice").filter({ hasText: "Ada went offline" })).toHaveCount(1);
  expect(errorsOf(bob)).toEqual([]);
});

test("a private message reaches every tab of both people and nobody else; unread counts rise and clear", async ({ browser, server }) => {
  const ada = await person(browser, server.url, "Ada");
  const adaAgain = await anotherTab(ada, server.url);
  const bob = await person(browser, server.url, "Bob");
  const eve = await person(browser, server.url, "Eve");

  await bob.locator('[data-testid="online-user"][data-user="Ada"]').getByTestId("private-message-open").click();
  await expect(bob.getByTestId("chat-title")).toHaveText("@ Ada");
  await send(bob, "psst, Ada");

  // Both of Ada's tabs list the conversation with one unread message.
  for (const tab of [ada, adaAgain]) {
    await expect(tab.locator('[data-testid="unread-count"][data-room="@Bob"]')).toHaveText("1");
  }
  // She reads it in one tab: it clears in both, and stays cleared after a reload.
  await ada.locator('[data-testid="conversation"][data-user="Bob"]').click();
  await expect(ada.getByTestId("message-content")).toHaveText(["psst, Ada"]);
  for (const tab of [ada, adaAgain]) {
    await expect(tab.locator('[data-testid="unread-count"][data-room="@Bob"]')).toHaveCount(0);
  }
  await adaAgain.reload();
  await expect(adaAgain.getByTestId("conversation")).toHaveCount(1, { timeout: 15_000 });
  await expect(adaAgain.locator('[data-testid="unread-count"][data-room="@Bob"]')).toHaveCount(0);

  // Eve sees none of it: not live, not in the page's HTML, not in her conversations.
  await expect(eve.getByTestId("message").filter({ hasText: "psst" })).toHaveCount(0);
  await expect(eve.getByTestId("conversation")).toHaveCount(0);
  const html = await (await eve.request.get(server.url)).text();
  expect(html).not.toContain("psst");

  // A message to everyone while both of Ada's tabs show Bob's conversation (a tab showing
  // Everyone would read it at once, for every tab): counted on Everyone, cleared when she looks.
  await adaAgain.locator('[data-testid="conversation"][data-user="Bob"]').click();
  await expect(adaAgain.getByTestId("chat-title")).toHaveText("@ Bob");
  await send(eve, "hello everyone");
  const everyone = ada.locator('[data-testid="unread-count"][data-room="everyone"]');
  await expect(everyone).toHaveText("1");
  await ada.getByTestId("room-everyone").click();
  await expect(everyone).toHaveCount(0);
  await expect(adaAgain.locator('[data-testid="unread-count"][data-room="everyone"]')).toHaveCount(0);

  // A room: counted while Ada reads elsewhere, cleared when she opens it.
  for (const page of [ada, eve]) {
    await page.getByTestId("room-input").fill("rust");
    await page.getByTestId("room-join").click();
    await expect(page.getByTestId("chat-title")).toHaveText("# rust");
  }
  await ada.locator('[data-testid="conversation"][data-user="Bob"]').click();
  await send(eve, "in rust");
  const rust = ada.locator('[data-testid="unread-count"][data-room="rust"]');
  await expect(rust).toHaveText("1");
  await ada.locator('[data-testid="room"][data-room="rust"]').click();
  await expect(ada.getByTestId("message-content").last()).toHaveText("in rust");
  await expect(rust).toHaveCount(0);
  for (const page of [ada, adaAgain, bob, eve]) expect(errorsOf(page)).toEqual([]);
});
