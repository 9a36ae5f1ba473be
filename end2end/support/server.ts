// Starts the real socket-chat server binary for a test: a free port, a fresh SQLite
// database, and the built site (WASM, JS, CSS) from target/site.
import { ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");
const BINARY = process.env.SOCKET_CHAT_BIN ?? path.join(ROOT, "target", "debug", "socket-chat");

export interface ServerOptions {
  /** Extra command-line flags, e.g. ["--max-message-bytes", "20"]. */
  args?: string[];
}

export class ChatServer {
  private constructor(
    private child: ChildProcess,
    /** e.g. http://127.0.0.1:41234 */
    public url: string,
    /** The SQLite URL, kept across restarts. */
    public databaseUrl: string,
    private options: ServerOptions,
    /** Everything the server printed, for failure messages. */
    public log: string[],
  ) {}

  static async start(options: ServerOptions = {}, databaseUrl?: string, addr = "127.0.0.1:0"): Promise<ChatServer> {
    const db = databaseUrl ?? `sqlite://${mkdtempSync(path.join(tmpdir(), "socket-chat-"))}/chat.db`;
    const log: string[] = [];
    const child = spawn(BINARY, ["--addr", addr, "--database-url", db, ...(options.args ?? [])], {
      cwd: ROOT,
      env: { ...process.env, LEPTOS_SITE_ROOT: path.join(ROOT, "target", "site"), RUST_LOG: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start:\n${log.join("")}`)), 20_000);
      const onData = (chunk: Buffer) => {
        log.push(chunk.toString());
        const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(log.join(""));
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", onData);
      child.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code}:\n${log.join("")}`));
      });
    });
    return new ChatServer(child, url, db, options, log);
  }

  /** The port the server listens on. */
  get port(): number {
    return Number(new URL(this.url).port);
  }

  /** Stops the server with `signal` and waits for it to exit; returns its exit code. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    return new Promise((resolve) => {
      this.child.once("exit", (code) => resolve(code));
      this.child.kill(signal);
    });
  }

  /** A new server on the same port and database. */
  async restart(): Promise<ChatServer> {
    await this.stop();
    return ChatServer.start(this.options, this.databaseUrl, `127.0.0.1:${this.port}`);
  }
}
