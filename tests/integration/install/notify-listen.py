#!/usr/bin/env python3
"""The service manager's end of sd_notify(3) for the install test.

    notify-listen.py SOCKET LOG

Binds the datagram socket SOCKET (mode 0666, so the service user can send),
appends each message it receives to LOG as one line (newlines inside a
message become spaces), flushing each, until it is killed.
"""
import os
import socket
import sys

path, log = sys.argv[1], sys.argv[2]
if os.path.exists(path):
    os.unlink(path)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
with open(log, "a", encoding="utf-8") as out:
    while True:
        msg = s.recv(4096).decode("utf-8", "replace")
        out.write(msg.replace("\n", " ") + "\n")
        out.flush()
