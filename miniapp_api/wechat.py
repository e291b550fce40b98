"""The WeChat mini-program client (wechatpy), pointed at a configurable base URL so that tests can
run a loopback server speaking WeChat's protocol. The access token is cached in Redis when
REDIS_URL is set (wechatpy's RedisStorage), so every worker shares one."""

from __future__ import annotations

import redis
from wechatpy import WeChatClient
from wechatpy.session.memorystorage import MemoryStorage
from wechatpy.session.redisstorage import RedisStorage


class MiniProgramClient(WeChatClient):
    def __init__(self, appid: str, secret: str, api_base: str, session, timeout: int = 5):
        super().__init__(appid, secret, session=session, timeout=timeout)
        self.api_base = api_base.rstrip("/")
        self.API_BASE_URL = f"{self.api_base}/cgi-bin/"
        self.wxa.API_BASE_URL = f"{self.api_base}/"

    def fetch_access_token(self):
        return self._fetch_access_token(
            url=f"{self.api_base}/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )


def make_client(config) -> MiniProgramClient | None:
    """None when WECHAT_APPID is not configured (WeChat sign-in is then refused with a clear error)."""
    if not config.get("WECHAT_APPID"):
        return None
    redis_url = config.get("REDIS_URL")
    session = RedisStorage(redis.Redis.from_url(redis_url), prefix="wechat") if redis_url else MemoryStorage()
    return MiniProgramClient(config["WECHAT_APPID"], config["WECHAT_SECRET"], config["WECHAT_API_BASE"], session,
                             timeout=config.get("WECHAT_TIMEOUT", 5))
