// Two pages on two nodes, both through the balancer: page A is pinned to node 1 and page B
// to node 2 by HAProxy's cookie. Messages, rooms with their member counts and the event
// log work as on one node.
import { Browser, Page } from "@playwright/test";
import { Cluster } from "../../support/cluster";
import { errorsOf, expect, openChat, test } from "../../support/fixtures";
import { join, message, send } from "../../support/chat-page";

let cluster: Cluster;

test.beforeAll(async () => {
  cluster = await Cluster.start(3);
});
test.afterAll(async () => {
  await cluster?.stop();
});

/** A page in a context of its own whose requests the balancer sends to node `n`. */
async function pageOn(browser: Browser, n: number): Promise<Page> {
  const context = await browser.newContext();
  await context.addCookies([{ name: "SOCKETCHAT_NODE", value: `node${n}`, url: cluster.url }]);
  const page = await context.newPage();
  const response = await page.goto(cluster.url);
  expect(response?.headers()["x-socket-chat-node"]).toBe(`node${n}`);
  await openChat(page, cluster.url);
  return page;
}

test("page A on node 1 and page B on node 2 chat, share rooms and counts, and log the events", async ({ browser }) => {
  const a = await pageOn(browser, 1);
  const b = await pageOn(browser, 2);

  await send(a, "hello from node 1", "all");
  await expect(message(b, "hello from node 1")).toHaveCount(1);
  await send(b, "hello from node 2", "all");
  await expect(message(a, "hello from node 2")).toHaveCount(1);

  await join(a, "rust");
  await join(b, "rust");
  for (const page of [a, b]) {
    await expect(page.locator('[data-testid="room"][data-room="rust"]')).toHaveAttribute("data-members", "2");
  }
  await send(b, "only for rust", "room");
  await expect(message(a, "only for rust")).toHaveCount(1);

  // The event log of A saw B's messages come in from the other node.
  const incoming = a.locator('[data-testid="event-log-entry"][data-direction="in"][data-event="chat message"]');
  await expect(incoming.filter({ hasText: "only for rust" })).toHaveCount(1);
  await expect(incoming.filter({ hasText: "hello from node 2" })).toHaveCount(1);

  // B leaves the room: node 1's page sees the count drop.
  await b.getByTestId("room-leave").click();
  await expect(a.locator('[data-testid="room"][data-room="rust"]')).toHaveAttribute("data-members", "1");
  expect(errorsOf(a)).toEqual([]);
  expect(errorsOf(b)).toEqual([]);
});

test("the tutorial's page (long-polling, then WebSocket) on node 3 chats with the page on node 1", async ({ browser }) => {
  const leptos = await pageOn(browser, 1);
  // The official client starts with long-polling: its polls and its upgrade follow the cookie.
  const context = await browser.newContext();
  const tutorial = await context.newPage();
  errorsOf(tutorial);
  await context.addCookies([{ name: "SOCKETCHAT_NODE", value: "node3", url: cluster.url }]);
  const response = await tutorial.goto(`${cluster.url}/tutorial`);
  expect(response?.headers()["x-socket-chat-node"]).toBe("node3");
  await expect(tutorial.getByTestId("tutorial-status")).toHaveText("connected");

  await tutorial.getByTestId("tutorial-input").fill("from the tutorial on node 3");
  await tutorial.getByTestId("tutorial-input").press("Enter");
  await expect(message(leptos, "from the tutorial on node 3")).toHaveCount(1);
  await send(leptos, "from the page on node 1", "all");
  await expect(tutorial.getByTestId("tutorial-message").filter({ hasText: "from the page on node 1" })).toHaveCount(1);
  expect(errorsOf(tutorial)).toEqual([]);
});
