#!/usr/bin/env python3
"""A stand-in server for the harness's own tests: python3 fake_server.py MODE DELAY_MS [PIDFILE].

Listens on 127.0.0.1:$PORT after DELAY_MS and answers 503 to its first request, 200 after.
MODE: ok | knextlog (also prints knext-init-style JSON events on stderr) | exit (prints a
message and exits 3 instead of listening) | never (never listens) | orphan (first leaves a
detached grandchild behind and writes its pid to PIDFILE).
"""
import http.server
import json
import os
import sys
import time

t0 = time.monotonic()
mode, delay = sys.argv[1], int(sys.argv[2]) / 1000.0


def event(name):
    ms = (time.monotonic() - t0) * 1000.0
    sys.stderr.write(json.dumps({"ts_ms": ms, "level": "info", "event": name}) + "\n")
    sys.stderr.flush()


if mode == "orphan":
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() == 0:
            with open(sys.argv[3], "w") as f:
                f.write(str(os.getpid()))
            time.sleep(300)
        os._exit(0)
    os.waitpid(pid, 0)
    while not os.path.exists(sys.argv[3]) or not open(sys.argv[3]).read():
        time.sleep(0.01)
if mode == "knextlog":
    event("exec")
    event("spawn")
time.sleep(delay)
if mode == "exit":
    sys.stderr.write("fake: cannot start, bad config\n")
    sys.exit(3)
if mode == "never":
    time.sleep(300)
if mode == "knextlog":
    event("libnode_loaded")
    event("server_start")


class Handler(http.server.BaseHTTPRequestHandler):
    served = 0

    def do_GET(self):
        Handler.served += 1
        self.send_response(503 if Handler.served == 1 else 200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


srv = http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
if mode == "knextlog":
    event("listening")
srv.serve_forever()
