// What `/` downloads: only its own code (never the /lab page's), precompressed, cached by
// hashed name; on a release build, within the 250 KB gzip budget of issue 15.
//
// Release build: `cargo leptos build --release --precompress`, then
//   SOCKET_CHAT_BIN=../target/release/socket-chat npx playwright test tests/size tests/ui tests/client
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { Request } from "@playwright/test";
import { errorsOf, expect, openChat, test } from "../../support/fixtures";

/** GNU `gzip -9` size (Node's zlib at level 9 comes out about 1 % larger on our WASM). */
const gzip9 = (bytes: Buffer) => execFileSync("gzip", ["-9c"], { input: bytes, maxBuffer: 1 << 30 }).length;

const PKG = path.resolve(__dirname, "..", "..", "..", "target", "site", "pkg");
/** cargo-leptos' hashed names: name.<22 characters of base64url MD5>.ext */
const HASHED = /^\/pkg\/socket-chat\.[A-Za-z0-9_-]{22}\.(js|wasm|css)$/;
/**
 * The split build's loader (`cargo leptos build --split`): the page's JS imports it, and it
 * fetches a lazily loaded chunk (the /lab page's) when the page needs one. Part of `/`'s code.
 */
const SPLIT_LOADER = /^__wasm_split\.[A-Za-z0-9_-]{22}\.js$/;
const BUDGET_GZIP = 250 * 1024;

/** The page's own files as the build wrote them, and whether it precompressed them (release). */
function builtFiles(): { files: string[]; precompressed: boolean } {
  const files = fs.readdirSync(PKG).filter((f) => /\.(js|wasm|css)$/.test(f));
  return { files, precompressed: files.every((f) => fs.existsSync(path.join(PKG, f + ".br")) && fs.existsSync(path.join(PKG, f + ".gz"))) };
}

test("/ fetches its own JS, WASM and CSS once each, and nothing of /lab", async ({ page, server }) => {
  const requests: Request[] = [];
  page.on("request", (r) => requests.push(r));
  await openChat(page, server.url);
  // Everything the page does at start has happened once the socket is connected; give late
  // loads (a lazily loaded chunk) a moment to show up.
  await page.waitForTimeout(1000);
  const code = requests.map((r) => new URL(r.url())).filter((u) => u.pathname.startsWith("/pkg/"));
  const names = code.map((u) => u.pathname).filter((p) => !SPLIT_LOADER.test(path.basename(p))).sort();
  expect(names, "the page's code: one JS, one WASM, one CSS, all with hashed names").toHaveLength(3);
  for (const name of names) expect(name).toMatch(HASHED);
  expect(names.map((n) => path.extname(n)).sort()).toEqual([".css", ".js", ".wasm"]);
  // At most the split loader besides, once.
  expect(code.length - names.length).toBeLessThanOrEqual(1);
  // The lab's code (a split-off chunk or the split manifest) is never fetched by `/`.
  expect(requests.map((r) => r.url()).filter((u) => /lab|split_|chunk_|manifest/i.test(new URL(u).pathname))).toEqual([]);
  expect(errorsOf(page)).toEqual([]);
});

test("the page's files: brotli or gzip as the browser accepts, a year of cache, Vary", async ({ page, request, server }) => {
  const loaded: string[] = [];
  page.on("response", (r) => {
    if (new URL(r.url()).pathname.startsWith("/pkg/")) loaded.push(new URL(r.url()).pathname);
  });
  await openChat(page, server.url);
  expect(loaded.length).toBeGreaterThan(0);
  const { precompressed } = builtFiles();
  for (const name of loaded) {
    const onDisk = path.join(PKG, path.basename(name));
    for (const encoding of ["br", "gzip", "identity"]) {
      const response = await request.get(server.url + name, { headers: { "accept-encoding": encoding } });
      expect(response.status(), `${name} ${encoding}`).toBe(200);
      const headers = response.headers();
      expect(headers["cache-control"], name).toBe("public, max-age=31536000, immutable");
      expect(headers["vary"]?.toLowerCase(), name).toContain("accept-encoding");
      expect(headers["content-encoding"] ?? "identity", `${name} asked with ${encoding}`).toBe(encoding);
      if (name.endsWith(".wasm")) expect(headers["content-type"]).toBe("application/wasm");
      // Release: the bytes on the wire are the build's own .br / .gz, not compressed per request.
      if (precompressed && encoding !== "identity") {
        const suffix = encoding === "br" ? ".br" : ".gz";
        const raw = await fetchRaw(server.url + name, encoding);
        expect(raw.equals(fs.readFileSync(onDisk + suffix)), `${name} served as ${suffix}`).toBe(true);
      }
    }
  }
  // A missing file is a plain 404, not the chat page.
  const missing = await request.get(server.url + "/pkg/does-not-exist.js");
  expect(missing.status()).toBe(404);
});

test("release build: the chat page's code is within 250 KB gzip", async () => {
  const { files, precompressed } = builtFiles();
  test.skip(!precompressed, "a debug build (no .br / .gz): the budget is for `cargo leptos build --release --precompress`");
  const page = files.filter((f) => f.startsWith("socket-chat.") || SPLIT_LOADER.test(f));
  expect(page.filter((f) => f.startsWith("socket-chat."))).toHaveLength(3);
  const gzip = page.reduce((sum, f) => sum + gzip9(fs.readFileSync(path.join(PKG, f))), 0);
  console.log(`chat page code: ${(gzip / 1024).toFixed(1)} KB gzip -9 (${page.join(", ")})`);
  expect(gzip).toBeLessThanOrEqual(BUDGET_GZIP);
});

/** The body exactly as sent (Playwright's request API would decode it). */
async function fetchRaw(url: string, encoding: string): Promise<Buffer> {
  const http = await import("node:http");
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { "accept-encoding": encoding } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve(Buffer.concat(chunks)));
      })
      .on("error", reject);
  });
}
