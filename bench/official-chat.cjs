// The official Socket.IO tutorial's chat server (its step 8, "server delivery" and "client
// delivery"), for the benchmark: the official Node.js `socket.io` 4.x, every message
// stored in SQLite before it is broadcast, replay from `auth.serverOffset`.
//
// One difference from the tutorial: SQLite through better-sqlite3 (synchronous) instead of
// the `sqlite` + `sqlite3` packages, whose native build needs a download this machine
// cannot make. better-sqlite3 is the faster driver, so the comparison does not favour us.
//
//   node official-chat.cjs --port 0 --db /tmp/chat.db      prints "listening on http://127.0.0.1:PORT"
//   node official-chat.cjs --port 0 --no-store              the same chat without storage
const http = require("node:http");
const { Server } = require("socket.io");

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const port = Number(option("--port", 0));
const store = !args.includes("--no-store");

let insert;
let after;
if (store) {
  const Database = require("better-sqlite3");
  const db = new Database(option("--db", "chat.db"));
  db.exec(`CREATE TABLE IF NOT EXISTS messages (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      client_offset TEXT UNIQUE,
      content TEXT
  );`);
  insert = db.prepare("INSERT INTO messages (content, client_offset) VALUES (?, ?)");
  after = db.prepare("SELECT id, content FROM messages WHERE id > ?");
}

const server = http.createServer();
const io = new Server(server, { connectionStateRecovery: {} });
let counter = 0;

io.on("connection", (socket) => {
  socket.on("chat message", (msg, clientOffset, callback) => {
    let id;
    if (store) {
      try {
        id = insert.run(msg, clientOffset).lastInsertRowid;
      } catch (e) {
        if (e.code === "SQLITE_CONSTRAINT_UNIQUE") callback?.();
        return;
      }
    } else {
      id = ++counter;
    }
    io.emit("chat message", msg, Number(id));
    callback?.();
  });
  if (store && !socket.recovered) {
    for (const row of after.iterate(socket.handshake.auth.serverOffset || 0)) {
      socket.emit("chat message", row.content, row.id);
    }
  }
});

server.listen(port, "127.0.0.1", () => console.log(`listening on http://127.0.0.1:${server.address().port}`));
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));
