// Reads the SQLite database directly (Python's sqlite3 module), independently of our
// server, to check what is really stored.
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

/** Every stored message, in offset order. `databaseUrl` is `sqlite://PATH`. */
export function readMessages(databaseUrl: string): StoredRow[] {
  const path = databaseUrl.replace(/^sqlite:\/\//, "");
  const out = execFileSync("python3", ["-c", READ, path], { maxBuffer: 256 * 1024 * 1024 });
  return JSON.parse(out.toString());
}
