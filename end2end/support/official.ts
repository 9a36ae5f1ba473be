// Starts the official Node.js Socket.IO server (peers/official-server.cjs) as a test peer.
import { ChildProcess } from "node:child_process";
import path from "node:path";
import { startListening, stopProcess } from "./process";

const SCRIPT = path.join(__dirname, "..", "peers", "official-server.cjs");

export class OfficialServer {
  private constructor(private child: ChildProcess, public url: string) {}

  static async start(port = 0): Promise<OfficialServer> {
    const { child, url } = await startListening(process.execPath, [SCRIPT, "--port", String(port)]);
    return new OfficialServer(child, url);
  }

  get port(): number {
    return Number(new URL(this.url).port);
  }

  async stop(): Promise<void> {
    await stopProcess(this.child);
  }

  /** A new server on the same port. */
  async restart(): Promise<OfficialServer> {
    await this.stop();
    return OfficialServer.start(this.port);
  }
}
