// Spawns a server process and waits for its "listening on http://HOST:PORT" line.
import { ChildProcess, spawn, SpawnOptions } from "node:child_process";

export interface Started {
  child: ChildProcess;
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  /** Everything the process printed, for failure messages. */
  log: string[];
}

export async function startListening(command: string, args: string[], options: SpawnOptions = {}): Promise<Started> {
  const log: string[] = [];
  const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} did not start:\n${log.join("")}`)), 20_000);
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
      reject(new Error(`${command} exited with ${code}:\n${log.join("")}`));
    });
  });
  return { child, url, log };
}

/** Stops a process with `signal` and waits for it to exit; returns its exit code. */
export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  return new Promise((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.kill(signal);
  });
}
