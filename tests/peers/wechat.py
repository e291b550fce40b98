"""A loopback HTTP server that speaks the WeChat mini-program API (the parts we call), for tests.

Real HTTP, real JSON, real error codes: wechatpy talks to it exactly as to api.weixin.qq.com.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class WeChatPeer:
    def __init__(self, appid: str = "wx-test-app", secret: str = "wx-test-secret"):
        self.appid, self.secret = appid, secret
        self.codes: dict[str, str] = {}  # wx.login code -> openid (each usable once)
        self.phone_codes: dict[str, str] = {}  # getPhoneNumber code -> phone
        self.tokens_issued = 0
        self.requests: list[tuple[str, dict]] = []
        self.fail_next = 0  # answer that many requests with HTTP 500
        self.subscribe_messages: list[dict] = []  # accepted subscribe messages
        self.refuse_subscribe = False  # answer 43101 (the user has not subscribed)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> WeChatPeer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _reply(self, body: dict, status: int = 200) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                peer.requests.append((url.path, query))
                if peer.fail_next:
                    peer.fail_next -= 1
                    return self._reply({"errmsg": "system busy"}, 500)
                if url.path == "/cgi-bin/token":
                    if query.get("appid") != peer.appid or query.get("secret") != peer.secret:
                        return self._reply({"errcode": 40013, "errmsg": "invalid appid"})
                    peer.tokens_issued += 1
                    return self._reply({"access_token": f"token-{peer.tokens_issued}", "expires_in": 7200})
                if url.path == "/sns/jscode2session":
                    if query.get("appid") != peer.appid or query.get("secret") != peer.secret:
                        return self._reply({"errcode": 40125, "errmsg": "invalid appsecret"})
                    openid = peer.codes.pop(query.get("js_code", ""), None)
                    if openid is None:
                        return self._reply({"errcode": 40029, "errmsg": "invalid code"})
                    return self._reply({"openid": openid, "session_key": "sk-" + openid})
                return self._reply({"errcode": 404, "errmsg": "not found"}, 404)

            def do_POST(self):
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                peer.requests.append((url.path, {**query, **body}))
                if url.path == "/cgi-bin/message/subscribe/send":
                    if not query.get("access_token", "").startswith("token-"):
                        return self._reply({"errcode": 40001, "errmsg": "invalid credential"})
                    if peer.refuse_subscribe:
                        return self._reply({"errcode": 43101, "errmsg": "user refuse to accept the msg"})
                    peer.subscribe_messages.append(body)
                    return self._reply({"errcode": 0, "errmsg": "ok"})
                if url.path == "/wxa/business/getuserphonenumber":
                    if not query.get("access_token", "").startswith("token-"):
                        return self._reply({"errcode": 40001, "errmsg": "invalid credential"})
                    phone = peer.phone_codes.pop(body.get("code", ""), None)
                    if phone is None:
                        return self._reply({"errcode": 40029, "errmsg": "invalid code"})
                    return self._reply({"errcode": 0, "errmsg": "ok", "phone_info": {
                        "phoneNumber": phone, "purePhoneNumber": phone, "countryCode": "86"}})
                return self._reply({"errcode": 404, "errmsg": "not found"}, 404)

        return Handler
