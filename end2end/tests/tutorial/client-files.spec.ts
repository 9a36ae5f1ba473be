// /socket.io/socket.io.js and its siblings: served by socket-chat as the official Node.js
// server serves them (compared with it), from the pinned npm socket.io-client, without
// getting in the way of Engine.IO's own requests under /socket.io/.
import { readFileSync } from "node:fs";
import path from "node:path";
import { APIRequestContext } from "@playwright/test";
import { expect, test } from "../../support/fixtures";
import { OfficialServer } from "../../support/official";
import { ChatServer } from "../../support/server";

const CLIENT = path.join(__dirname, "..", "..", "node_modules", "socket.io-client");
const VERSION: string = JSON.parse(readFileSync(path.join(CLIENT, "package.json"), "utf8")).version;
const FILES = ["socket.io.js", "socket.io.min.js", "socket.io.esm.min.js"].flatMap((f) => [f, `${f}.map`]);

/** The headers socket.io's Server#serve sets, for one file. */
async function served(request: APIRequestContext, url: string, headers: Record<string, string> = {}) {
  const response = await request.get(url, { headers: { "accept-encoding": "identity", ...headers } });
  const h = response.headers();
  return {
    status: response.status(),
    contentType: h["content-type"],
    cacheControl: h["cache-control"],
    etag: h["etag"],
    encoding: h["content-encoding"],
  };
}

test("the client files answer as the Node.js server's, from the installed socket.io-client", async ({ server, request }) => {
  const official = await OfficialServer.start();
  try {
    for (const file of FILES) {
      const ours = await served(request, `${server.url}/socket.io/${file}`);
      const theirs = await served(request, `${official.url}/socket.io/${file}`);
      expect(ours, file).toEqual(theirs);
      expect(ours).toMatchObject({ status: 200, etag: `"${VERSION}"`, cacheControl: "public, max-age=0" });
      expect(ours.contentType).toBe(file.endsWith(".map") ? "application/json; charset=utf-8" : "application/javascript; charset=utf-8");
      // The bytes of the pinned package's dist/.
      const body = await (await request.get(`${server.url}/socket.io/${file}`, { headers: { "accept-encoding": "identity" } })).body();
      expect(body.equals(readFileSync(path.join(CLIENT, "dist", file))), file).toBe(true);

      // If-None-Match: the same tag, strong or weak, gets 304 with no body, as on Node.js.
      for (const tag of [`"${VERSION}"`, `W/"${VERSION}"`]) {
        const ours304 = await request.get(`${server.url}/socket.io/${file}`, { headers: { "if-none-match": tag } });
        const theirs304 = await request.get(`${official.url}/socket.io/${file}`, { headers: { "if-none-match": tag } });
        expect([ours304.status(), theirs304.status()]).toEqual([304, 304]);
        expect((await ours304.body()).length).toBe(0);
      }
      // Another tag gets the file.
      expect((await served(request, `${server.url}/socket.io/${file}`, { "if-none-match": '"0.0.0"' })).status).toBe(200);
    }

    // Compressed as the request accepts, as on Node.js.
    for (const encoding of ["gzip", "br", "deflate"]) {
      const ours = await served(request, `${server.url}/socket.io/socket.io.js`, { "accept-encoding": encoding });
      const theirs = await served(request, `${official.url}/socket.io/socket.io.js`, { "accept-encoding": encoding });
      expect(ours.encoding, encoding).toBe(encoding);
      expect(theirs.encoding, encoding).toBe(encoding);
    }
    // A query string is ignored, as on Node.js.
    expect((await served(request, `${server.url}/socket.io/socket.io.min.js?v=1`)).status).toBe(200);
    // HEAD: the headers without the body.
    const head = await request.head(`${server.url}/socket.io/socket.io.js`);
    expect(head.status()).toBe(200);
    expect(head.headers()["etag"]).toBe(`"${VERSION}"`);
  } finally {
    await official.stop();
  }
});

test("Engine.IO requests under /socket.io/ still reach socketioxide", async ({ server, request, connect }) => {
  // A polling handshake...
  const handshake = await request.get(`${server.url}/socket.io/?EIO=4&transport=polling`);
  expect(handshake.status()).toBe(200);
  expect(await handshake.text()).toMatch(/^0\{"sid":"/);
  // ...other names and methods are not ours (socketioxide answers them)...
  for (const url of ["/socket.io/socket.io.msgpack.min.js", "/socket.io/other.js", "/socket.io/socket.io.jsx"]) {
    const response = await request.get(`${server.url}${url}`);
    expect(response.headers()["etag"], url).toBeUndefined();
  }
  const post = await request.post(`${server.url}/socket.io/socket.io.js`);
  expect(post.headers()["etag"]).toBeUndefined();
  // ...and clients connect over both transports.
  for (const transports of [["polling"], ["websocket"], ["polling", "websocket"]]) {
    const socket = await connect({ transports });
    const ack = await socket.timeout(5_000).emitWithAck("chat message", `over ${transports}`, `cf-${transports}`);
    expect(ack.status).toBe("ok");
  }
});

test("without the client installed: a warning at start-up, and a 404 that says why", async ({ request }) => {
  const server = await ChatServer.start({ args: ["--socket-io-client-dir", "/nonexistent/socket.io-client"] });
  try {
    const response = await request.get(`${server.url}/socket.io/socket.io.js`);
    expect(response.status()).toBe(404);
    expect(await response.text()).toContain("socket.io.js is not installed on this server");
    expect(server.log.join("")).toContain("socket.io-client is not installed in /nonexistent/socket.io-client");
    // The chat itself is unaffected.
    expect((await request.get(`${server.url}/healthz`)).status()).toBe(200);
  } finally {
    await server.stop();
  }
});
