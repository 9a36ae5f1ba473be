// Hostile text is shown as typed, never run: message text, room names and event-log
// arguments carrying <script>, <img onerror>, javascript: links and the like, in the page the
// server renders and after hydration, live and replayed. And the pages' security headers.
import { Page } from "@playwright/test";
import { collect, errorsOf, expect, openChat, test } from "../../support/fixtures";
import { readMessages } from "../../support/database";

/** Each would set `window.__pwned` (or open a dialog) if it ever ran. */
const HOSTILE = [
  "<script>window.__pwned = 'script'</script>",
  "<img src=x onerror=\"window.__pwned = 'img'\">",
  "\"><svg onload=\"window.__pwned = 'svg'\">",
  "javascript:window.__pwned='link'",
  "[click me](javascript:window.__pwned='md') and <a href=\"javascript:window.__pwned='a'\">a</a>",
  "<iframe srcdoc=\"<script>parent.__pwned='iframe'</script>\"></iframe>",
  "'; DROP TABLE messages; --",
  "Robert'); DELETE FROM messages WHERE ('1'='1",
];

const HOSTILE_ROOM = "<img src=x onerror=\"window.__pwned='room'\">";

/** Makes any script that runs visible: a trap on `window.__pwned`, dialogs and CSP reports. */
async function watch(page: Page): Promise<{ dialogs: string[]; violations: () => Promise<string[]> }> {
  const dialogs: string[] = [];
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.addInitScript(() => {
    (window as any).__violations = [];
    document.addEventListener("securitypolicyviolation", (e) =>
      (window as any).__violations.push(`${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  return { dialogs, violations: () => page.evaluate(() => (window as any).__violations as string[]) };
}

async function expectNothingRan(page: Page, dialogs: string[]) {
  expect(await page.evaluate(() => (window as any).__pwned)).toBeUndefined();
  expect(dialogs).toEqual([]);
  // No link the page made leads to script, and no element it made carries a handler.
  expect(await page.locator("a[href^='javascript:' i]").count()).toBe(0);
  expect(await page.locator("[onerror], [onload], iframe, [data-testid='messages'] img, [data-testid='messages'] svg").count()).toBe(0);
}

test("hostile message text and room names show as typed, server-rendered and hydrated", async ({ browser, server, connect }) => {
  // Stored before the page is opened: the server renders them.
  const sender = await connect();
  for (const [n, text] of HOSTILE.entries()) {
    const ack = await sender.emitWithAck("chat message", text, `before-${n}`);
    expect(ack.status).toBe("ok");
  }
  // Stored exactly as typed (SQL with bound parameters only: the DROP TABLE did nothing).
  expect(readMessages(server.databaseUrl).map((m) => m.content)).toEqual(HOSTILE);

  // The HTML the server sends has them escaped.
  const html = await (await browser.newPage()).request.get(server.url).then((r) => r.text());
  expect(html).toContain("&lt;script&gt;window.__pwned");
  expect(html).not.toContain("<script>window.__pwned");
  expect(html).not.toContain("<img src=x");

  const page = await browser.newPage();
  const { dialogs, violations } = await watch(page);
  await openChat(page, server.url);
  await expect(page.getByTestId("message-content")).toHaveText(HOSTILE);
  await expectNothingRan(page, dialogs);

  // Live, after hydration: a message, a room with a hostile name and a message in it.
  const received = collect(sender);
  await sender.emitWithAck("chat message", "<b onmouseover=\"window.__pwned='live'\">live</b>", "live-0");
  await expect(page.getByTestId("message-content").last()).toHaveText("<b onmouseover=\"window.__pwned='live'\">live</b>");
  await expect.poll(() => received.length).toBeGreaterThan(0);
  const joined = await sender.emitWithAck("room:join", HOSTILE_ROOM);
  expect(joined.status).toBe("ok");
  await expect(page.getByTestId("room").filter({ hasText: HOSTILE_ROOM })).toHaveCount(1);
  await page.getByTestId("room-input").fill(HOSTILE_ROOM);
  await page.getByTestId("room-join").click();
  await sender.emitWithAck("chat message", "<script>window.__pwned='in room'</script>", "room-0", { to: HOSTILE_ROOM });
  await expect(page.getByTestId("message-content").filter({ hasText: "in room" })).toHaveCount(1);
  // The event log shows the arguments as text too.
  await expect(page.getByTestId("event-log-entry").filter({ hasText: "window.__pwned='in room'" }).first()).toBeVisible();

  await expectNothingRan(page, dialogs);
  expect(await violations()).toEqual([]);
  expect(errorsOf(page)).toEqual([]);
});

test("pages carry a Content-Security-Policy that allows the WASM and nothing inline but Leptos' own", async ({ page, server }) => {
  const response = await page.request.get(server.url);
  const headers = response.headers();
  const csp = headers["content-security-policy"];
  expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=_-]+' 'wasm-unsafe-eval'/);
  expect(csp).not.toContain("unsafe-inline");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(headers["x-content-type-options"]).toBe("nosniff");
  expect(headers["referrer-policy"]).toBe("no-referrer");
  expect(headers["x-frame-options"]).toBe("DENY");
  // A fresh nonce for every response, and the hydration script carries it.
  const nonce = csp.match(/'nonce-([^']+)'/)![1];
  expect((await response.text()).includes(`nonce="${nonce}"`)).toBe(true);
  const again = (await page.request.get(server.url)).headers()["content-security-policy"];
  expect(again).not.toBe(csp);

  // The page hydrates and chats under it, without a single violation.
  const { dialogs, violations } = await watch(page);
  await openChat(page, server.url);
  await page.getByTestId("message-input").fill("under the policy");
  await page.getByTestId("send-button").click();
  await expect(page.getByTestId("message-content")).toHaveText(["under the policy"]);
  await expectNothingRan(page, dialogs);
  expect(await violations()).toEqual([]);
  expect(errorsOf(page)).toEqual([]);
});

test("an inline script injected into a page would be blocked by the policy", async ({ page, server }) => {
  const { violations } = await watch(page);
  await openChat(page, server.url);
  // What an injection would amount to: an inline script without the nonce.
  await page.evaluate(() => {
    const s = document.createElement("script");
    s.textContent = "window.__pwned = 'injected'";
    document.body.appendChild(s);
  });
  expect(await page.evaluate(() => (window as any).__pwned)).toBeUndefined();
  await expect.poll(violations).toContainEqual(expect.stringContaining("script-src"));
});

test("/tutorial and /lab work under their policies", async ({ page, server }) => {
  const { violations } = await watch(page);
  errorsOf(page);
  const tutorial = await page.goto(`${server.url}/tutorial`);
  expect(tutorial!.headers()["content-security-policy"]).toMatch(/script-src 'self' 'nonce-/);
  await expect(page.getByTestId("tutorial-status")).toHaveText(/connected/);
  await page.getByTestId("tutorial-input").fill("<img src=x onerror=\"window.__pwned='tutorial'\">");
  await page.getByTestId("tutorial-send").click();
  await expect(page.getByTestId("tutorial-messages")).toContainText("<img src=x");
  expect(await page.evaluate(() => (window as any).__pwned)).toBeUndefined();
  expect(await violations()).toEqual([]);

  // The lab runs every step but the last (which waits for a server restart) under its policy.
  await page.goto(`${server.url}/lab`);
  const steps = page.getByTestId("lab-step");
  await expect(steps.last()).toHaveAttribute("data-status", "waiting", { timeout: 20_000 });
  for (const step of (await steps.all()).slice(0, -1)) {
    await expect(step, (await step.textContent()) ?? "").toHaveAttribute("data-status", "ok");
  }
  expect(await violations()).toEqual([]);
  expect(errorsOf(page)).toEqual([]);
});
