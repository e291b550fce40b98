"""A loopback HTTP server standing for a provincial host app (湘易办-style): it publishes its public
keys as a JWKS document and signs user assertions (RS256) with the private key."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


class HostAppPeer:
    def __init__(self, channel: str = "xiangyiban-rsa", kid: str = "key-1"):
        self.channel, self.kid = channel, kid
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.jwks_requests = 0
        self.down = False
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.jwks_url = f"http://127.0.0.1:{self._server.server_address[1]}/.well-known/jwks.json"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def assertion(self, sub: str, ttl: int = 300, **claims) -> str:
        now = int(time.time())
        payload = {"iss": self.channel, "sub": sub, "iat": now, "exp": now + ttl, "jti": uuid.uuid4().hex, **claims}
        return jwt.encode(payload, self.private_key, algorithm="RS256", headers={"kid": self.kid})

    def _handler(self):
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if peer.down or self.path != "/.well-known/jwks.json":
                    self.send_response(503 if peer.down else 404)
                    self.end_headers()
                    return
                peer.jwks_requests += 1
                key = json.loads(RSAAlgorithm.to_jwk(peer.private_key.public_key()))
                body = json.dumps({"keys": [{**key, "kid": peer.kid, "use": "sig", "alg": "RS256"}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
