// How fast the chat page becomes usable on a slow phone, beside the Socket.IO tutorial's page.
//
//   cargo leptos build --release --precompress
//   cd end2end && SOCKET_CHAT_BIN=../target/release/socket-chat npx playwright test --config playwright.bench.config.ts
//
// Each run is a fresh browser context (empty cache) with the CPU slowed 4x and the network
// shaped like Chrome DevTools' "Slow 4G" preset, both through the Chrome DevTools Protocol
// (Emulation.setCPUThrottlingRate, Network.emulateNetworkConditions). Both pages hold the
// same 50 messages. Measured from navigation start, in the page's own clock:
// - messages visible: the 50th message is in the document, its frame is about to be painted and
//   the page has painted once (ours: in the server-rendered HTML, shown once the stylesheet is
//   there; the tutorial's: replayed over the socket);
// - usable: the socket is connected and the message box is there (ours: hydrated, since only
//   the WASM writes "connected"; the tutorial's: its `connect` handler ran).
// Transferred bytes are what the network delivered until then (HTTP bodies and headers, as
// the DevTools Protocol counts them; WebSocket frames are not counted).
// Prints a table and writes bench/results/page-load.{json,md}.
import { CDPSession, test } from "@playwright/test";
import { ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { execFileSync } from "node:child_process";
import { seedDatabase, ChatServer, freshDatabase } from "../support/server";
import { startListening, stopProcess } from "../support/process";

/** GNU `gzip -9` size (Node's zlib at level 9 comes out about 1 % larger on our WASM). */
const gzip9 = (bytes: Buffer) => execFileSync("gzip", ["-9c"], { input: bytes, maxBuffer: 1 << 30 }).length;

const ROOT = path.resolve(__dirname, "..", "..");
const MESSAGES = 50;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
/** Chrome DevTools' "Slow 4G" preset (its former "Fast 3G"), in CDP units. */
const SLOW_4G = {
  offline: false,
  latency: 562.5,
  downloadThroughput: ((1.6 * 1024 * 1024) / 8) * 0.9,
  uploadThroughput: ((750 * 1024) / 8) * 0.9,
  connectionType: "cellular4g" as const,
};
const CPU_SLOWDOWN = 4;

interface Page {
  name: string;
  url: string;
  /** Selector of one message; the page is "visible" when MESSAGES of them are there. */
  message: string;
  /** Selector of the connection text, "connected" when usable. */
  status: string;
  /** Selector of the message box. */
  input: string;
}

interface Run {
  messagesVisibleMs: number;
  usableMs: number;
  firstContentfulPaintMs: number;
  transferredBytes: number;
  requests: number;
}

/** Runs in the page before anything else: marks when the two conditions first hold. */
function observe(page: Omit<Page, "name" | "url"> & { count: number }) {
  const marks: Record<string, number> = {};
  (window as unknown as { __marks: Record<string, number> }).__marks = marks;
  const check = () => {
    if (marks.messagesInDom === undefined && document.querySelectorAll(page.message).length >= page.count) {
      marks.messagesInDom = performance.now();
      requestAnimationFrame(() => (marks.messagesVisible = performance.now()));
    }
    const status = document.querySelector(page.status);
    if (marks.usable === undefined && status?.textContent?.trim() === "connected" && document.querySelector(page.input)) {
      marks.usable = performance.now();
    }
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true, characterData: true });
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (entry.name === "first-contentful-paint") marks.fcp = entry.startTime;
  }).observe({ type: "paint", buffered: true });
}

async function measure(browser: import("@playwright/test").Browser, page: Page): Promise<Run> {
  const context = await browser.newContext();
  const tab = await context.newPage();
  const cdp: CDPSession = await context.newCDPSession(tab);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  await cdp.send("Network.emulateNetworkConditions", SLOW_4G);
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: CPU_SLOWDOWN });
  const finished: Array<{ at: number; bytes: number }> = [];
  cdp.on("Network.loadingFinished", (e) => finished.push({ at: e.timestamp, bytes: e.encodedDataLength }));
  let navigationStart = 0;
  cdp.on("Network.requestWillBeSent", (e) => {
    if (navigationStart === 0) navigationStart = e.timestamp;
  });
  await tab.addInitScript(observe, { message: page.message, status: page.status, input: page.input, count: MESSAGES });
  await tab.goto(page.url, { waitUntil: "commit" });
  await tab.waitForFunction(
    () => {
      const m = (window as unknown as { __marks?: Record<string, number> }).__marks;
      return m?.usable !== undefined && m?.messagesVisible !== undefined;
    },
    undefined,
    { timeout: 120_000, polling: 100 },
  );
  const marks = await tab.evaluate(() => (window as unknown as { __marks: Record<string, number> }).__marks);
  // CDP timestamps are seconds on a monotonic clock; the page's marks are ms since its time origin.
  const usableAt = navigationStart + Math.max(marks.usable, marks.messagesVisible) / 1000;
  const upTo = finished.filter((f) => f.at <= usableAt + 0.05);
  await context.close();
  return {
    // Not before the first paint: a frame can be scheduled while the stylesheet still blocks it.
    messagesVisibleMs: Math.max(marks.messagesVisible, marks.fcp ?? 0),
    usableMs: marks.usable,
    firstContentfulPaintMs: marks.fcp ?? NaN,
    transferredBytes: upTo.reduce((sum, f) => sum + f.bytes, 0),
    requests: upTo.length,
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

interface Sizes {
  files: string[];
  raw: number;
  gzip: number;
  brotli: number;
}

/** Raw, gzip -9 and brotli (quality 11) sizes of a set of files. */
function sizes(files: string[]): Sizes {
  let raw = 0;
  let gzip = 0;
  let brotli = 0;
  for (const file of files) {
    const bytes = fs.readFileSync(file);
    raw += bytes.length;
    gzip += gzip9(bytes);
    brotli += zlib.brotliCompressSync(bytes, {
      params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
    }).length;
  }
  return { files: files.map((f) => path.relative(ROOT, f)), raw, gzip, brotli };
}

/** The chat page's code: the WASM, JS and CSS the build wrote, and the split loader its JS
 * imports (not the lazily loaded chunks), as scripts/page-size.sh counts them. */
function chatPageFiles(): string[] {
  const pkg = path.join(ROOT, "target", "site", "pkg");
  return fs
    .readdirSync(pkg)
    .filter((f) => /^socket-chat[.\w-]*\.(wasm|js|css)$/.test(f) || /^__wasm_split[.\w-]*\.js$/.test(f))
    .map((f) => path.join(pkg, f));
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const ms = (value: number) => `${Math.round(value)} ms`;

test("page load on a slow phone: the chat page beside the tutorial's", async ({ browser }) => {
  test.setTimeout(30 * 60_000);
  const databaseUrl = freshDatabase();
  await seedDatabase(databaseUrl, MESSAGES);
  const ours = await ChatServer.start({}, databaseUrl);
  const tutorialProcess = await startListening(process.execPath, [
    path.join(ROOT, "end2end", "peers", "official-tutorial-server.cjs"),
    "--messages",
    String(MESSAGES),
  ]);
  const tutorialChild: ChildProcess = tutorialProcess.child;
  const pages: Page[] = [
    {
      name: "socket-chat (/)",
      url: ours.url + "/",
      message: '[data-testid="message"]',
      status: '[data-testid="connection-status"]',
      input: '[data-testid="message-input"]',
    },
    {
      name: "the tutorial (official server)",
      url: tutorialProcess.url + "/",
      message: "#messages > li",
      status: "#status",
      input: "#input",
    },
  ];
  const runs = new Map<string, Run[]>(pages.map((p) => [p.name, []]));
  try {
    // One untimed load each first (the servers' first answers are slower), then alternate.
    for (const page of pages) await measure(browser, page);
    for (let i = 0; i < RUNS; i++) for (const page of pages) runs.get(page.name)!.push(await measure(browser, page));
  } finally {
    await ours.stop();
    await stopProcess(tutorialChild);
  }

  // What the official server sends for /socket.io/socket.io.js (its `serveClient`).
  const tutorialClient = path.join(ROOT, "end2end", "node_modules", "socket.io", "client-dist", "socket.io.js");
  const code = new Map<string, Sizes>([
    [pages[0].name, sizes(chatPageFiles())],
    [pages[1].name, sizes([tutorialClient])],
  ]);
  const rows = pages.map((page) => {
    const r = runs.get(page.name)!;
    const c = code.get(page.name)!;
    return {
      page: page.name,
      code: c,
      messagesVisibleMs: median(r.map((x) => x.messagesVisibleMs)),
      usableMs: median(r.map((x) => x.usableMs)),
      firstContentfulPaintMs: median(r.map((x) => x.firstContentfulPaintMs)),
      transferredBytes: median(r.map((x) => x.transferredBytes)),
      requests: median(r.map((x) => x.requests)),
      runs: r,
    };
  });
  const table = [
    `Chromium, CPU ${CPU_SLOWDOWN}x slower, network "Slow 4G" (${SLOW_4G.latency} ms, ${kb(SLOW_4G.downloadThroughput)}/s down), ${MESSAGES} messages, median of ${RUNS} cold loads`,
    "",
    "| page | code raw | code gzip -9 | code brotli | transferred until usable | requests | first paint | messages visible | usable (connected, input ready) |",
    "|------|---------:|-------------:|------------:|-------------------------:|---------:|------------:|-----------------:|--------------------------------:|",
    ...rows.map(
      (r) =>
        `| ${r.page} | ${kb(r.code.raw)} | ${kb(r.code.gzip)} | ${kb(r.code.brotli)} | ${kb(r.transferredBytes)} | ${r.requests} | ${ms(r.firstContentfulPaintMs)} | ${ms(r.messagesVisibleMs)} | ${ms(r.usableMs)} |`,
    ),
    "",
    `Code: ours is ${rows[0].code.files.join(", ")}; the tutorial's is socket.io.js as its server serves it (its page's script and style are inline in the HTML).`,
    `Goals (issue 15): code ≤ 250 KB gzip; messages visible no later than the tutorial's (${ms(rows[1].messagesVisibleMs)}); usable within 2x of the tutorial's (≤ ${ms(2 * rows[1].usableMs)}).`,
  ].join("\n");
  console.log("\n" + table + "\n");
  const out = path.join(ROOT, "bench", "results");
  fs.writeFileSync(path.join(out, "page-load.md"), table + "\n");
  fs.writeFileSync(path.join(out, "page-load.json"), JSON.stringify({ network: SLOW_4G, cpuSlowdown: CPU_SLOWDOWN, messages: MESSAGES, rows }, null, 2) + "\n");
});
