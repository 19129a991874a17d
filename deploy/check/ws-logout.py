#!/usr/bin/env python3
"""A socket that hears its own logout, for the deploy checks (stdlib only).

    CHECK_TOKEN=<access token> ws-logout.py PORT header|query [LABEL]

Opens GET /ws on 127.0.0.1:PORT with the access token (as a bearer header,
or as ?token= the way browsers do), expects 101, logs the session out with
POST /api/auth/logout and expects a LOGOUT text frame on the socket. Exits
non-zero, saying why, otherwise. The token is read from the environment
and never printed.
"""
import base64
import json
import os
import socket
import sys
import urllib.error
import urllib.request

port, mode = int(sys.argv[1]), sys.argv[2]
label = f" {sys.argv[3]}" if len(sys.argv) > 3 else ""
token = os.environ["CHECK_TOKEN"]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
key = base64.b64encode(os.urandom(16)).decode()
target = f"/ws?token={token}" if mode == "query" else "/ws"
auth = "" if mode == "query" else f"Authorization: Bearer {token}\r\n"
s.sendall((f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
           f"User-Agent: deploy-check\r\n{auth}\r\n").encode())
head = b""
while b"\r\n\r\n" not in head:
    chunk = s.recv(4096)
    if not chunk:
        sys.exit("WebSocket: connection closed during the handshake")
    head += chunk
status = head.split(b"\r\n", 1)[0].decode(errors="replace")
if " 101 " not in status + " ":
    sys.exit(f"WebSocket handshake{label} answered: {status}")
rest = head.split(b"\r\n\r\n", 1)[1]
print(f"ok: WebSocket /ws{label} open (101)")

req = urllib.request.Request(f"http://127.0.0.1:{port}/api/auth/logout", method="POST",
                             headers={"Authorization": f"Bearer {token}"})
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        if r.status != 200:
            sys.exit(f"logout{label} answered {r.status}")
except urllib.error.HTTPError as e:
    sys.exit(f"logout{label} answered {e.code}")


def read(n):
    global rest
    while len(rest) < n:
        chunk = s.recv(4096)
        if not chunk:
            sys.exit("WebSocket closed before LOGOUT")
        rest += chunk
    out, rest = rest[:n], rest[n:]
    return out


while True:
    b0, b1 = read(2)
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(read(2), "big")
    elif n == 127:
        n = int.from_bytes(read(8), "big")
    payload = read(n)
    opcode = b0 & 0x0F
    if opcode == 1:
        if json.loads(payload).get("type") != "LOGOUT":
            sys.exit(f"WebSocket: unexpected message {payload[:200]!r}")
        print(f"ok: logout{label} 200, LOGOUT received on the socket")
        break
    if opcode == 8:
        sys.exit("WebSocket closed without LOGOUT")
s.close()
