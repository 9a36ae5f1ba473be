// The official Node.js socket.io server instrumented by the official @socket.io/admin-ui
// package: the reference for our /admin namespace (tests/admin/protocol.spec.ts runs the same
// checks against both). Its "/" namespace answers a little of the tutorial's chat:
// `chat message` is broadcast to everyone, other events are only received.
//
//   node official-admin-server.cjs --port 0 --username U --password-hash BCRYPT [--readonly]
//     prints "listening on http://127.0.0.1:PORT"
const http = require("node:http");
const { Server } = require("socket.io");
const { instrument } = require("@socket.io/admin-ui");

const args = process.argv.slice(2);
const arg = (name) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : undefined;
};

const httpServer = http.createServer((req, res) => res.writeHead(404).end());
const io = new Server(httpServer);

io.on("connection", (socket) => {
  socket.on("chat message", (content, clientOffset, callback) => {
    io.emit("chat message", content, 1);
    if (typeof callback === "function") callback();
  });
});

instrument(io, {
  auth: { type: "basic", username: arg("username"), password: arg("password-hash") },
  readonly: args.includes("--readonly"),
  mode: "development",
});

httpServer.listen(Number(arg("port") ?? 0), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${httpServer.address().port}`);
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    io.close();
    process.exit(0);
  });
}
