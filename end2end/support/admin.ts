// The Admin UI's side of socket-chat (src/server/admin): the flags that turn it on, and the
// official socket.io-client as an admin.
import { execFileSync } from "node:child_process";
import { expect, Page } from "@playwright/test";
import path from "node:path";
import { io, Socket } from "socket.io-client";

const ROOT = path.resolve(__dirname, "..", "..");
const BINARY = process.env.SOCKET_CHAT_BIN ?? path.join(ROOT, "target", "debug", "socket-chat");

export const ADMIN_USER = "admin";
export const ADMIN_PASSWORD = "correct horse battery staple";

let hash: string | undefined;
/** The bcrypt hash of ADMIN_PASSWORD, made by `socket-chat hash-password` (cost 4: quick). */
export function adminPasswordHash(): string {
  hash ??= execFileSync(BINARY, ["hash-password", "--cost", "4"], { input: `${ADMIN_PASSWORD}\n` }).toString().trim();
  return hash;
}

/** Server flags that open the /admin namespace, plus `extra`. */
export function adminArgs(...extra: string[]): string[] {
  return ["--admin-username", ADMIN_USER, "--admin-password-hash", adminPasswordHash(), ...extra];
}

/** Every event an admin socket receives, in order, as [name, ...args]. */
export type Received = unknown[][];

/**
 * Connects an official socket.io-client to `/admin` with `auth`; resolves once connected,
 * rejects with the connect error. `events` collects everything it receives from the start.
 */
export async function connectAdmin(url: string, auth: object): Promise<{ socket: Socket; events: Received }> {
  const socket = io(`${url}/admin`, { transports: ["websocket"], reconnection: false, forceNew: true, auth });
  const events: Received = [];
  socket.onAny((...args) => events.push(args));
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", (err) => {
      socket.close();
      reject(err);
    });
  });
  return { socket, events };
}

/** The arguments of the events named `name` received so far. */
export function named(events: Received, name: string): unknown[][] {
  return events.filter((e) => e[0] === name).map((e) => e.slice(1));
}

/** Opens the Admin UI from our server and logs in. */
export async function loginToAdminUi(page: Page, url: string, password = ADMIN_PASSWORD): Promise<void> {
  // Its index.html loads a font and an icon font from CDNs: unreachable here, and not needed.
  await page.route(/fonts\.googleapis\.com|cdn\.jsdelivr\.net/, (route) => route.abort());
  await page.goto(`${url}/admin-ui`);
  await expect(page).toHaveURL(/\/admin-ui\/(#\/)?$/);
  await page.getByLabel("Server URL").fill(url);
  await page.getByLabel("Username").fill(ADMIN_USER);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Connect" }).click();
}

