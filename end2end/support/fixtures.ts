// Test fixtures: a fresh server per test, and the official socket.io-client against it.
import { test as base, expect, Page } from "@playwright/test";
import { io, Socket } from "socket.io-client";
import { ChatServer, ServerOptions } from "./server";

type Fixtures = {
  /** Flags for the test's server; set with `test.use({ serverOptions: ... })`. */
  serverOptions: ServerOptions;
  /** The test's own server, stopped after the test. */
  server: ChatServer;
  /**
   * Opens an official socket.io-client socket to the server (all closed after the test).
   * `prepare` runs before the connection, to attach listeners that must not miss what the
   * server sends on connection (a replay).
   */
  connect: (options?: Parameters<typeof io>[1], prepare?: (socket: Socket) => void) => Promise<Socket>;
};

export const test = base.extend<Fixtures>({
  serverOptions: [{}, { option: true }],
  server: async ({ serverOptions }, use, testInfo) => {
    const server = await ChatServer.start(serverOptions);
    await use(server);
    await server.stop();
    if (testInfo.status !== testInfo.expectedStatus) {
      await testInfo.attach("server log", { body: server.log.join(""), contentType: "text/plain" });
    }
  },
  connect: async ({ server }, use) => {
    const sockets: Socket[] = [];
    await use(async (options, prepare) => {
      const socket = io(server.url, { transports: ["websocket"], reconnection: false, autoConnect: false, ...options });
      sockets.push(socket);
      prepare?.(socket);
      socket.connect();
      await new Promise<void>((resolve, reject) => {
        socket.once("connect", () => resolve());
        socket.once("connect_error", reject);
      });
      return socket;
    });
    for (const socket of sockets) socket.disconnect();
  },
});

export { expect };

/** Uncaught errors and console errors of a page (hydration mismatches, panics). */
const pageErrors = new WeakMap<Page, string[]>();
export function errorsOf(page: Page): string[] {
  let errors = pageErrors.get(page);
  if (!errors) {
    const list: string[] = [];
    page.on("pageerror", (e) => list.push(String(e)));
    page.on("console", (m) => {
      // A refused WebSocket while the server is down is expected; anything else is a bug.
      if (m.type() === "error" && !/WebSocket connection to .* failed/.test(m.text())) list.push(m.text());
    });
    pageErrors.set(page, list);
    errors = list;
  }
  return errors;
}

/** Opens the chat and waits until the WASM is hydrated and the socket connected. */
export async function openChat(page: Page, url: string): Promise<void> {
  errorsOf(page);
  await page.goto(url);
  await expect(page.getByTestId("connection-status")).toHaveText("connected", { timeout: 15_000 });
}

/** Collects every `chat message` a socket receives. */
export function collect(socket: Socket): Array<[string, number, { sentAt: number; clientOffset?: string }]> {
  const received: Array<[string, number, { sentAt: number; clientOffset?: string }]> = [];
  socket.on("chat message", (content, offset, meta) => received.push([content, offset, meta]));
  return received;
}
