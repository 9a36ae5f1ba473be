// The official Node.js Socket.IO server (npm `socket.io`), as a peer for our client's tests.
//
// It implements the `/lab` namespace exactly as our Rust server does (docs/PROTOCOL.md), so
// the same browser scenario runs against both.
//
//   node official-server.cjs [--port 0]     prints "listening on http://127.0.0.1:PORT"
const http = require("node:http");
const { Server } = require("socket.io");

const args = process.argv.slice(2);
const portArg = args.indexOf("--port");
const port = portArg >= 0 ? Number(args[portArg + 1]) : 0;

const httpServer = http.createServer((req, res) => {
  res.writeHead(req.url === "/healthz" ? 200 : 404).end(req.url === "/healthz" ? "ok" : "");
});
const io = new Server(httpServer, { cors: { origin: true } });

const lab = io.of("/lab");
lab.on("connection", (socket) => {
  let withhold = false;
  socket.emit("welcome", { id: socket.id, auth: socket.handshake.auth });

  socket.on("request", (arg1, arg2, callback) => {
    console.log("request", arg1, arg2);
    if (!withhold) callback({ status: "ok" });
  });
  socket.on("request2", (arg1, arg2, callback) => {
    console.log("request2", arg1, arg2);
    if (!withhold) callback({ status: "ok from request 2" });
  });
  socket.on("withhold", (value, callback) => {
    withhold = value === true;
    callback?.({ status: "ok", data: { withhold } });
  });
  socket.on("binary:echo", (bytes, callback) => {
    const buffer = Buffer.from(bytes);
    callback(Buffer.from(buffer).reverse());
    socket.emit("binary:pushed", buffer);
  });
  socket.on("room:join", async (room, callback) => {
    socket.join(room);
    const members = (await lab.in(room).fetchSockets()).length;
    callback({ status: "ok", data: { room, members } });
  });
  socket.on("room:shout", (room, text) => {
    lab.to(room).emit("room:shouted", room, text);
  });
  socket.on("rtt", async () => {
    const started = process.hrtime.bigint();
    let answer = null;
    try {
      answer = await socket.timeout(5000).emitWithAck("rtt:probe", socket.id);
    } catch {}
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    socket.emit("rtt:measured", { ms, echoed: answer === socket.id });
  });
  socket.on("kick", () => socket.disconnect(true));
  socket.onAny((event, ...rest) => {
    const known = ["request", "request2", "withhold", "binary:echo", "room:join", "room:shout", "rtt", "kick"];
    if (known.includes(event)) return;
    console.log("lab event without a handler", event);
    const callback = rest[rest.length - 1];
    if (typeof callback === "function") callback({ status: "ok", data: { event } });
  });
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
