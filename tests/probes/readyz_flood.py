#!/usr/bin/env python3
# readyz_flood.py PORT: opens 1,100 connections to PORT that never finish their request, then times
# 200 fresh GET /readyz on new connections while the slow ones keep trickling bytes. Prints the p50,
# p99 and max latency in ms (a failed request counts as 99999). Used by tests/probes/flood.sh and
# bench/pid1_mem.sh.
import socket, sys, time
port = int(sys.argv[1])
slow = []
for i in range(1100):
    s = socket.socket()
    s.settimeout(5)
    s.connect(('127.0.0.1', port))
    s.send(b'GET /readyz HTTP/1.1\r\nHost: x\r\n')  # never finished
    slow.append(s)
time.sleep(0.3)
lat = []
for i in range(200):
    t0 = time.monotonic()
    try:
        c = socket.create_connection(('127.0.0.1', port), timeout=5)
        c.sendall(b'GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        ok = c.recv(64).startswith(b'HTTP/1.1 ')
        c.close()
    except OSError:
        ok = False
    lat.append((time.monotonic() - t0) * 1000 if ok else 99999.0)
    if i % 10 == 0:  # the flood stays: slow clients keep trickling bytes, never a whole header
        for s in slow:
            try:
                s.send(b'X')
            except OSError:
                pass
lat.sort()
print('%.2f %.2f %.2f' % (lat[100], lat[197], lat[-1]))
