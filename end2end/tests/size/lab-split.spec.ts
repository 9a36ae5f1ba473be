// The /lab page's code is a WASM chunk of its own (`#[lazy_route]` in src/ui/lab.rs, built with
// `cargo leptos build --split`): `/` never fetches it, `/lab` fetches it and runs its scenario,
// also when the server has restarted and the browser has nothing cached. Issue 15 (the chat
// page's weight): bench/results/SIZE.md, row 17.
//
// Debug build: `cargo leptos build --split`; release build: `cargo leptos build --release
// --precompress --split`, then SOCKET_CHAT_BIN=../target/release/socket-chat.
import fs from "node:fs";
import path from "node:path";
import { Browser, Page } from "@playwright/test";
import { errorsOf, expect, openChat, test } from "../../support/fixtures";

const PKG = path.resolve(__dirname, "..", "..", "..", "target", "site", "pkg");

/** The lab's chunks (hashed file names), from the split manifest the build wrote. */
function labChunks(): string[] {
  const manifests = fs.readdirSync(PKG).filter((f) => /^__wasm_split_manifest(\.[A-Za-z0-9_-]{22})?\.json$/.test(f));
  expect(manifests, "one split manifest in target/site/pkg: was the site built with --split?").toHaveLength(1);
  const manifest: Record<string, string[]> = JSON.parse(fs.readFileSync(path.join(PKG, manifests[0]), "utf8"));
  // The lab's route is the only lazily loaded code of the app.
  const splits = Object.keys(manifest);
  expect(splits, "the split points").toEqual([expect.stringMatching(/lab_route/)]);
  const chunks = manifest[splits[0]].map((stem) => `${stem}.wasm`);
  expect(chunks.length).toBeGreaterThan(0);
  for (const chunk of chunks) expect(fs.existsSync(path.join(PKG, chunk)), chunk).toBe(true);
  return chunks;
}

/** The file names under /pkg/ that `page` fetches from now on. */
function fetchedCode(page: Page): string[] {
  const names: string[] = [];
  page.on("request", (r) => {
    const { pathname } = new URL(r.url());
    if (pathname.startsWith("/pkg/")) names.push(path.basename(pathname));
  });
  return names;
}

/** Opens /lab in a fresh browser context (nothing cached) and waits until its scenario runs. */
async function openLab(browser: Browser, url: string): Promise<{ page: Page; fetched: string[] }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const fetched = fetchedCode(page);
  errorsOf(page);
  await page.goto(`${url}/lab`);
  // The scenario starts only once the page is hydrated, that is once the chunk is loaded and
  // run: its first step (a Socket.IO connection with auth) then succeeds.
  await expect(page.getByTestId("lab-step")).toHaveCount(Number(await page.getByTestId("lab-steps").getAttribute("data-count")));
  await expect(page.locator('[data-step="connect with auth"]')).toHaveAttribute("data-status", "ok", { timeout: 15_000 });
  await expect(page.locator('[data-step="ack callback"]')).toHaveAttribute("data-status", "ok", { timeout: 15_000 });
  return { page, fetched };
}

test("/ never fetches the lab's chunk; /lab fetches it and runs, also after a server restart", async ({ page, browser, server }) => {
  const chunks = labChunks();

  const fromChat = fetchedCode(page);
  await openChat(page, server.url);
  // Late loads (a prefetch, a lazily loaded chunk) have a moment to show up.
  await page.waitForTimeout(1000);
  expect(fromChat.filter((f) => f.endsWith(".wasm")), "the chat page loads its own WASM only").toEqual([
    expect.stringMatching(/^socket-chat\.[A-Za-z0-9_-]{22}\.wasm$/),
  ]);
  expect(fromChat.filter((f) => chunks.includes(f))).toEqual([]);
  expect(errorsOf(page)).toEqual([]);

  const lab = await openLab(browser, server.url);
  for (const chunk of chunks) expect(lab.fetched, `/lab fetches ${chunk}`).toContain(chunk);
  expect(errorsOf(lab.page)).toEqual([]);
  await lab.page.context().close();

  // A new process (the manifest and hash.txt read again), and a browser with nothing cached.
  const restarted = await server.restart();
  try {
    const again = await openLab(browser, restarted.url);
    for (const chunk of chunks) expect(again.fetched, `/lab fetches ${chunk} after the restart`).toContain(chunk);
    expect(errorsOf(again.page)).toEqual([]);
    await again.page.context().close();
  } finally {
    await restarted.stop();
  }
});

test("the lab's chunks are served precompressed and cached like the page's own files", async ({ request, server }) => {
  for (const chunk of labChunks()) {
    const response = await request.get(`${server.url}/pkg/${chunk}`, { headers: { "accept-encoding": "br" } });
    expect(response.status(), chunk).toBe(200);
    expect(response.headers()["content-type"], chunk).toBe("application/wasm");
    expect(response.headers()["cache-control"], chunk).toBe("public, max-age=31536000, immutable");
    if (fs.existsSync(path.join(PKG, chunk + ".br"))) expect(response.headers()["content-encoding"], chunk).toBe("br");
  }
});
