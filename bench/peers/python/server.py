"""The python-socketio peer of chatd's benchmarks (bench/run.sh).

Debian's python3-socketio (AsyncServer) on Debian's python3-aiohttp, the
stack of the Flask-SocketIO / python-socketio seed, with only the events the
scenarios use: room:create (ack only; no persistence), room:join (enter_room
+ ack), message:send (ack with the message, and message:new to everyone in
the room, sender included, as chatd does). Listens on 127.0.0.1:PORT
(argv[1], 0 = any free port) and prints "listening port=N" once ready.
Run it with /usr/bin/python3 so that Debian's packages are the ones used.
"""
import asyncio
import datetime
import os
import signal
import socket
import sys

import socketio
from aiohttp import web

sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*")
app = web.Application()
sio.attach(app)
users = {}
seqs = {}
next_id = [1]


@sio.event
async def connect(sid, environ, auth=None):
    users[sid] = str((auth or {}).get("userId") or sid)


@sio.event
async def disconnect(sid):
    users.pop(sid, None)


@sio.on("room:create")
async def room_create(sid, data):
    return {"ok": True, "room": {"id": (data or {}).get("id"), "kind": (data or {}).get("kind")}}


@sio.on("room:join")
async def room_join(sid, data):
    room = (data or {}).get("room")
    if not isinstance(room, str):
        return {"ok": False, "error": {"code": "bad_request", "message": "room"}}
    sio.enter_room(sid, room)
    return {"ok": True, "room": {"id": room}}


@sio.on("message:send")
async def message_send(sid, data):
    data = data or {}
    room, text = data.get("room"), data.get("text")
    if not isinstance(room, str) or not isinstance(text, str) or room not in sio.rooms(sid):
        return {"ok": False, "error": {"code": "forbidden", "message": "not in room"}}
    seq = seqs.get(room, 0) + 1
    seqs[room] = seq
    user = users.get(sid, sid)
    message = {
        "id": str(next_id[0]), "room": room, "seq": seq, "senderId": user, "senderName": user,
        "senderRole": "user", "type": "text", "text": text, "replyTo": None, "attachment": None,
        "clientMsgId": data.get("clientMsgId"), "editedAt": None, "deleted": False,
        "createdAt": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds"),
    }
    next_id[0] += 1
    await sio.emit("message:new", {"message": message}, room=room)
    return {"ok": True, "message": message}


async def main(port):
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    site = web.SockSite(runner, sock, backlog=4096)
    await site.start()
    print(f"listening port={sock.getsockname()[1]}", flush=True)
    # A benchmark server has nothing to flush: exit at once on a signal
    # rather than wait for thousands of connections to close one by one.
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, os._exit, 0)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
