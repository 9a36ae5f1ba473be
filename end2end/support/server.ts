// Starts the real socket-chat server binary for a test: a free port, a fresh SQLite
// database, and the built site (WASM, JS, CSS) from target/site.
import { ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startListening, stopProcess } from "./process";

const ROOT = path.resolve(__dirname, "..", "..");
const BINARY = process.env.SOCKET_CHAT_BIN ?? path.join(ROOT, "target", "debug", "socket-chat");

export interface ServerOptions {
  /** Extra command-line flags, e.g. ["--max-message-bytes", "20"]. */
  args?: string[];
}

/** A fresh SQLite URL in a new temporary folder. */
export function freshDatabase(): string {
  return `sqlite://${mkdtempSync(path.join(tmpdir(), "socket-chat-"))}/chat.db`;
}

/** Stores `count` generated messages (`socket-chat seed`), in `room` or to everyone. */
export async function seedDatabase(databaseUrl: string, count: number, room?: string): Promise<void> {
  const args = ["--database-url", databaseUrl, "seed", "--messages", String(count), ...(room ? ["--room", room] : [])];
  const child = spawn(BINARY, args, { cwd: ROOT, stdio: "inherit" });
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  if (code !== 0) throw new Error(`socket-chat seed exited with ${code}`);
}

export class ChatServer {
  private constructor(
    private child: ChildProcess,
    /** e.g. http://127.0.0.1:41234 */
    public url: string,
    /** The SQLite URL, kept across restarts. */
    public databaseUrl: string,
    private options: ServerOptions,
    /** Everything the server printed, for failure reports. */
    public log: string[],
  ) {}

  static async start(options: ServerOptions = {}, databaseUrl?: string, addr = "127.0.0.1:0"): Promise<ChatServer> {
    const db = databaseUrl ?? freshDatabase();
    const { child, url, log } = await startListening(BINARY, ["--addr", addr, "--database-url", db, ...(options.args ?? [])], {
      cwd: ROOT,
      env: { ...process.env, LEPTOS_SITE_ROOT: path.join(ROOT, "target", "site"), RUST_LOG: "info" },
    });
    return new ChatServer(child, url, db, options, log);
  }

  /** The port the server listens on. */
  get port(): number {
    return Number(new URL(this.url).port);
  }

  /** Stops the server with `signal` and waits for it to exit; returns its exit code. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    return stopProcess(this.child, signal);
  }

  /** A new server on the same port and database. */
  async restart(): Promise<ChatServer> {
    await this.stop();
    return ChatServer.start(this.options, this.databaseUrl, `127.0.0.1:${this.port}`);
  }
}
