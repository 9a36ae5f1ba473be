// The Socket.IO tutorial's final server on the official Node.js `socket.io`, serving the
// tutorial's page: the yardstick for how fast our chat page loads (end2end/bench/).
//
// As in the tutorial: `GET /` is the page (ours, src/server/tutorial_page/index.html, which is
// the tutorial's final index.html), the official client comes from the Socket.IO server
// itself (`/socket.io/socket.io.js`, as `serveClient` serves it: compressed per request when
// the browser accepts it), `chat message` is stored with its client offset and broadcast with
// its server offset, and a connecting socket gets what it missed after `auth.serverOffset`.
// The tutorial stores in SQLite; here the messages are kept in memory (the page load does not
// depend on it, and nothing native has to be built).
//
//   node official-tutorial-server.cjs [--port 0] [--messages 50]
//   prints "listening on http://127.0.0.1:PORT"
const fs = require("node:fs");
const http = require("node:http");
const path = require("node:path");
const { Server } = require("socket.io");

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const port = Number(option("--port", 0));
const seeded = Number(option("--messages", 0));

const page = fs.readFileSync(path.join(__dirname, "..", "..", "src", "server", "tutorial_page", "index.html"));

/** Stored messages in offset order: offset i + 1 is messages[i]. */
const messages = [];
const clientOffsets = new Set();
for (let i = 1; i <= seeded; i++) messages.push(`Seeded message ${i}`);

const httpServer = http.createServer((req, res) => {
  if (req.url === "/" || req.url === "/index.html") {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page);
  } else if (req.url === "/healthz") {
    res.writeHead(200).end("ok");
  } else {
    res.writeHead(404).end();
  }
});
const io = new Server(httpServer);

io.on("connection", (socket) => {
  socket.on("chat message", (msg, clientOffset, callback) => {
    if (clientOffset !== undefined && clientOffsets.has(clientOffset)) {
      callback?.();
      return;
    }
    if (clientOffset !== undefined) clientOffsets.add(clientOffset);
    messages.push(String(msg));
    io.emit("chat message", msg, messages.length);
    callback?.();
  });
  if (!socket.recovered) {
    const after = Number(socket.handshake.auth.serverOffset) || 0;
    for (let offset = after + 1; offset <= messages.length; offset++) {
      socket.emit("chat message", messages[offset - 1], offset);
    }
  }
});

httpServer.listen(port, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${httpServer.address().port}`);
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    io.close();
    process.exit(0);
  });
}
