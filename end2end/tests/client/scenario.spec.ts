// Our Rust/WASM Socket.IO client, in Chromium, runs the same scenario (the /lab page)
// against the official Node.js socket.io server and against our own server.
import { Page } from "@playwright/test";
import { errorsOf, expect, test } from "../../support/fixtures";
import { OfficialServer } from "../../support/official";


/** Runs the scenario against `target`, restarting it when the page asks; returns the new target. */
async function runScenario<T>(page: Page, labUrl: string, restart: () => Promise<T>): Promise<T> {
  errorsOf(page);
  await page.goto(labUrl);
  // The steps come from one place, `Step::ALL` in src/ui/lab.rs; the last one waits for
  // the server to restart.
  const steps = page.getByTestId("lab-step");
  const count = Number(await page.getByTestId("lab-steps").getAttribute("data-count"));
  expect(count).toBeGreaterThan(1);
  await expect(steps).toHaveCount(count);
  const last = steps.last();
  // Until the last step waits for the restart, or a step fails (shown with its reason).
  await expect
    .poll(
      async () => {
        const failed = page.locator('[data-testid="lab-step"][data-status="failed"]');
        if (await failed.count()) return `failed: ${await failed.first().textContent()}`;
        return last.getAttribute("data-status");
      },
      { timeout: 20_000 },
    )
    .toBe("waiting");
  for (const item of (await steps.all()).slice(0, -1)) {
    await expect(item, (await item.textContent()) ?? "").toHaveAttribute("data-status", "ok");
  }
  const restarted = await restart();
  await expect(last).toHaveAttribute("data-status", "ok", { timeout: 20_000 });
  expect(errorsOf(page)).toEqual([]);
  return restarted;
}

test("against the official Node.js socket.io server", async ({ page, server }) => {
  const official = await OfficialServer.start();
  let current = official;
  try {
    current = await runScenario(page, `${server.url}/lab?server=${encodeURIComponent(official.url)}`, () =>
      official.restart(),
    );
    await expect(page.locator('[data-step="ack timeout"]')).toContainText(
      "the server did not acknowledge the event in the given delay",
    );
  } finally {
    await current.stop();
  }
});

test("against our own server", async ({ page, server }) => {
  const restarted = await runScenario(page, `${server.url}/lab`, () => server.restart());
  await restarted.stop();
});
