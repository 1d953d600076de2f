#!/usr/bin/env python3
# Benign hard negative: a test suite that serves and fetches pages on 127.0.0.1 and resolves
# localhost. Loopback traffic stays inside the sandbox (not sinkholed) and must not be flagged.
import http.server
import socket
import threading
import urllib.request

socket.getaddrinfo("localhost", 80)
server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
port = server.server_address[1]
threading.Thread(target=server.serve_forever, daemon=True).start()
for _ in range(3):
    urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read()
server.shutdown()
print("local tests passed")
