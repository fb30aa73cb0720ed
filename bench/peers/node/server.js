// The Node socket.io 4.8 peer of chatd's benchmarks (bench/run.sh): the
// server most chatd users would otherwise pick, with only the events the
// scenarios use: room:create (ack only; no persistence), room:join
// (socket.join + ack), message:send (ack with the message, and message:new
// to everyone in the room, sender included, as chatd does). Listens on
// 127.0.0.1:PORT (argv[2] or $PORT, 0 = any free port) and prints
// "listening port=N" on stdout once it is ready.
//
// With a Redis URL (argv[3] or $REDIS_URL) it is one node of a cluster:
// the stock @socket.io/redis-adapter (node-redis clients, one publishing,
// one subscribed) carries io.to(room).emit to the other nodes, as Socket.IO
// users scale out. Room sequence numbers stay per process (nothing is
// stored), so the peer does less work per message than chatd on PostgreSQL.
'use strict';
const http = require('http');
const { Server } = require('socket.io');

const port = Number(process.argv[2] || process.env.PORT || 0);
const redisUrl = process.argv[3] || process.env.REDIS_URL || '';
const httpServer = http.createServer();
const io = new Server(httpServer, { serveClient: false, transports: ['websocket', 'polling'] });
const seqs = new Map();
let nextId = 1;

io.on('connection', (socket) => {
  const userId = String((socket.handshake.auth && socket.handshake.auth.userId) || socket.id);
  socket.on('room:create', (p, ack) => {
    if (typeof ack === 'function') ack({ ok: true, room: { id: p && p.id, kind: p && p.kind } });
  });
  socket.on('room:join', (p, ack) => {
    if (!p || typeof p.room !== 'string') {
      if (typeof ack === 'function') ack({ ok: false, error: { code: 'bad_request', message: 'room' } });
      return;
    }
    socket.join(p.room);
    if (typeof ack === 'function') ack({ ok: true, room: { id: p.room } });
  });
  socket.on('message:send', (p, ack) => {
    if (!p || typeof p.room !== 'string' || typeof p.text !== 'string' || !socket.rooms.has(p.room)) {
      if (typeof ack === 'function') ack({ ok: false, error: { code: 'forbidden', message: 'not in room' } });
      return;
    }
    const seq = (seqs.get(p.room) || 0) + 1;
    seqs.set(p.room, seq);
    const message = {
      id: String(nextId++), room: p.room, seq, senderId: userId, senderName: userId, senderRole: 'user',
      type: 'text', text: p.text, replyTo: null, attachment: null, clientMsgId: p.clientMsgId || null,
      createdAt: new Date().toISOString(), editedAt: null, deleted: false,
    };
    io.to(p.room).emit('message:new', { message });
    if (typeof ack === 'function') ack({ ok: true, message });
  });
});

async function useRedis() {
  const { createClient } = require('redis');
  const { createAdapter } = require('@socket.io/redis-adapter');
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  for (const c of [pub, sub]) c.on('error', (e) => console.error(`redis: ${e.message}`));
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createAdapter(pub, sub));
}

(redisUrl ? useRedis() : Promise.resolve()).then(
  () => httpServer.listen(port, '127.0.0.1', () => {
    console.log(`listening port=${httpServer.address().port}${redisUrl ? ' adapter=redis' : ''}`);
  }),
  (e) => {
    console.error(`cannot reach Redis at ${redisUrl}: ${e.message}`);
    process.exit(1);
  });
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { io.close(); process.exit(0); });
