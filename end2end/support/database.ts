// Reads the database directly, independently of our server, to check what is really
// stored: SQLite through Python's sqlite3 module, PostgreSQL through psql.
import { execFileSync } from "node:child_process";

export interface StoredRow {
  id: number;
  clientOffset: string | null;
  content: string;
}

const READ = `
import json, sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
rows = db.execute("SELECT id, client_offset, content FROM messages ORDER BY id").fetchall()
print(json.dumps([{"id": r[0], "clientOffset": r[1], "content": r[2]} for r in rows]))
`;

/** Every stored message, in offset order. `databaseUrl` is `sqlite://PATH` or `postgres://…`. */
export function readMessages(databaseUrl: string): StoredRow[] {
  if (databaseUrl.startsWith("postgres")) {
    const query = `SELECT COALESCE(json_agg(json_build_object('id', id, 'clientOffset', client_offset, 'content', content) ORDER BY id), '[]') FROM messages`;
    const out = execFileSync("psql", [databaseUrl, "-qtAc", query], { maxBuffer: 256 * 1024 * 1024 });
    return JSON.parse(out.toString());
  }
  const path = databaseUrl.replace(/^sqlite:\/\//, "");
  const out = execFileSync("python3", ["-c", READ, path], { maxBuffer: 256 * 1024 * 1024 });
  return JSON.parse(out.toString());
}
