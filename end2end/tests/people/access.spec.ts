// A page that works for everyone: axe-core finds no serious accessibility problem in the
// light and dark themes, on a desktop and on a phone (390 x 844, panels behind tabs), and
// the keyboard reaches everything. SCREENSHOTS=1 also refreshes docs/screenshots.
import { createRequire } from "node:module";
import path from "node:path";
import type { Page } from "@playwright/test";
import { errorsOf, expect, openChat, test } from "../../support/fixtures";

const axePath = createRequire(__filename).resolve("axe-core/axe.min.js");
const shots = path.join(__dirname, "../../../docs/screenshots");

/** Serious and critical axe-core violations on the page, as readable lines. */
async function violations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: axePath });
  const found = await page.evaluate(async () => {
    // @ts-expect-error axe is the script just added
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v: { id: string; impact: string; nodes: { target: string[] }[] }) => ({
      id: v.id,
      impact: v.impact,
      targets: v.nodes.map((n) => n.target.join(" ")).slice(0, 5),
    }));
  });
  return found
    .filter((v: { impact: string }) => v.impact === "serious" || v.impact === "critical")
    .map((v: { id: string; impact: string; targets: string[] }) => `${v.impact} ${v.id}: ${v.targets.join(", ")}`);
}

async function shoot(page: Page, name: string) {
  if (process.env.SCREENSHOTS) await page.screenshot({ path: path.join(shots, name) });
}

test("no serious accessibility problem in both themes, on a desktop and on a phone", async ({ browser, server }) => {
  const bob = await browser.newPage();
  await openChat(bob, server.url);
  await bob.getByTestId("nickname-input").fill("Bob");
  await bob.getByTestId("nickname-save").click();
  // bypassCSP: axe-core is injected as a script of the test's own, which the page's policy
  // (rightly) refuses.
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, bypassCSP: true });
  await openChat(page, server.url);
  // A first visit asks for a nickname, by keyboard alone: Tab to the field, type, Enter.
  await page.getByTestId("nickname-input").focus();
  await page.keyboard.type("Ada");
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("me")).toHaveText("Ada");
  await page.getByTestId("message-input").fill("Hello! The docs are at https://socket.io/docs/v4/tutorial");
  await page.keyboard.press("Enter");
  await bob.getByTestId("message-input").fill("Hi Ada");
  await bob.keyboard.press("Enter");
  await expect(page.getByTestId("message-content")).toHaveCount(2);
  await expect(page.getByTestId("online-user")).toHaveCount(2);

  for (const theme of ["light", "dark"]) {
    await page.evaluate((t) => document.documentElement.setAttribute("data-theme", t), theme);
    expect(await violations(page), `${theme} theme on a desktop`).toEqual([]);
    await shoot(page, `chat-${theme}.png`);
  }

  await page.setViewportSize({ width: 390, height: 844 });
  for (const theme of ["light", "dark"]) {
    await page.evaluate((t) => document.documentElement.setAttribute("data-theme", t), theme);
    expect(await violations(page), `${theme} theme on a phone`).toEqual([]);
    await shoot(page, `phone-${theme}.png`);
  }
  // On a phone the panels take turns; Escape brings the conversation back.
  await page.getByTestId("tab-rooms").click();
  await expect(page.getByTestId("people-panel")).toBeVisible();
  await expect(page.getByTestId("message-input")).toBeHidden();
  await shoot(page, "phone-people.png");
  await page.keyboard.press("Escape");
  await expect(page.getByTestId("message-input")).toBeVisible();
  expect(errorsOf(page)).toEqual([]);
});
