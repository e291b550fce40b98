"""A department system on loopback: receives our signed webhooks, can fail the first requests or answer
slowly (so two senders overlap), and counts every POST it got."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """Fails the first `failures` requests with 503; waits `delay` seconds before each answer."""

    def __init__(self, failures: int = 0, delay: float = 0.0):
        self.failures, self.delay, self.received, self.accepted = failures, delay, [], []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver._lock:
                    receiver.received.append((dict(self.headers), body))
                    status = 503 if len(receiver.received) <= receiver.failures else 200
                    if status == 200:
                        receiver.accepted.append(json.loads(body))
                time.sleep(receiver.delay)
                self.send_response(status)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/inbox"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
