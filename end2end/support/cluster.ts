// A local cluster for a test: scripts/cluster.sh starts 3 nodes of the built binary on a
// PostgreSQL database of the test's own, joined through Redis, behind HAProxy, on ports of
// its own; the test can SIGKILL a node; stop() stops everything and drops the database.
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");
const BINARY = process.env.SOCKET_CHAT_BIN ?? path.join(ROOT, "target", "debug", "socket-chat");
const POSTGRES = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const REDIS = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
let created = 0;

async function free(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer().once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A first port such that it and the `count` next ones are free. */
async function freePorts(count: number): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const all = await Promise.all(Array.from({ length: count + 1 }, (_, i) => free(base + i)));
    if (all.every(Boolean)) return base;
  }
}

/** A redis-server of the test's own (Debian's binary), that it may stop and start again. */
export class OwnRedis {
  private child?: ChildProcess;
  private constructor(public port: number) {}

  static async start(port?: number): Promise<OwnRedis> {
    const redis = new OwnRedis(port ?? (await freePorts(0)));
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts it (again) on its port and waits until it accepts connections. */
  async restart(): Promise<void> {
    this.child = spawn("redis-server", ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      stdio: "ignore",
    });
    for (let i = 0; i < 200 && (await free(this.port)); i++) await new Promise((r) => setTimeout(r, 25));
  }

  /** Kills it (SIGKILL): every connection to it drops at once. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    await new Promise((resolve) => {
      child.once("exit", resolve);
      child.kill("SIGKILL");
    });
  }
}

export class Cluster {
  private constructor(
    /** The balancer, e.g. http://127.0.0.1:41000 */
    public url: string,
    /** Each node, directly. */
    public nodes: string[],
    /** The database all nodes share. */
    public databaseUrl: string,
    private env: NodeJS.ProcessEnv,
    private dir: string,
  ) {}

  /** `nodes` nodes on Redis at `redisUrl`, each with `extraEnv` too (the admin user, say). */
  static async start(nodes = 3, redisUrl = REDIS, extraEnv: NodeJS.ProcessEnv = {}): Promise<Cluster> {
    const port = await freePorts(nodes);
    const name = `socket_chat_e2e_${process.pid}_${created++}_${Date.now() % 100_000}`;
    const databaseUrl = `${POSTGRES.replace(/\/[^/]*$/, "")}/${name}`;
    const dir = mkdtempSync(path.join(tmpdir(), "socket-chat-cluster-"));
    const env = {
      ...process.env,
      SOCKET_CHAT_BIN: BINARY,
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      CLUSTER_PORT: String(port),
      CLUSTER_NODES: String(nodes),
      CLUSTER_DIR: dir,
      ...extraEnv,
    };
    const out = execFileSync(path.join(ROOT, "scripts", "cluster.sh"), ["start"], { env, cwd: ROOT }).toString();
    const url = out.trim().split("\n").pop()!;
    const nodeUrls = Array.from({ length: nodes }, (_, i) => `http://127.0.0.1:${port + i + 1}`);
    return new Cluster(url, nodeUrls, databaseUrl, env, dir);
  }

  /** SIGKILLs node `n` (1-based): no shutdown, no goodbye. */
  kill(n: number): void {
    const pid = Number(readFileSync(path.join(this.dir, `node${n}.pid`), "utf8"));
    process.kill(pid, "SIGKILL");
  }

  /** Node `n`'s log so far. */
  log(n: number): string {
    return readFileSync(path.join(this.dir, `node${n}.log`), "utf8");
  }

  async stop(): Promise<void> {
    execFileSync(path.join(ROOT, "scripts", "cluster.sh"), ["stop"], { env: this.env, cwd: ROOT });
    const name = this.databaseUrl.split("/").pop();
    execFileSync("psql", [POSTGRES, "-qc", `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`]);
  }
}
