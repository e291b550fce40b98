"""Browser tests: the app served on loopback from a thread, Debian's Chromium driven by Playwright.

Every click or key that loads a page is wrapped in `page.expect_navigation()` (or followed by
`wait_for_url`), and what is then on the page is checked with `expect(...)`, which retries: under CPU
load the browser starts the next page late, and a one-shot look (count(), inner_text(), is_visible())
would see the old one. Never sleep instead. E2E_CPU_THROTTLE=8 slows the browser's CPU eightfold
(Chromium's own throttling), to try the tests as on a slow, busy machine.

Screenshots go to tests/e2e/screenshots/ (git-ignored)."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CPU_THROTTLE = float(os.environ.get("E2E_CPU_THROTTLE") or 1)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def live_server(app):
    """The test app (real database, Redis, loopback WeChat) on a free loopback port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed (apt-get install chromium); .ci/run installs it")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=20_000)  # 5 s by default: too short for a page on a loaded 2-CPU machine

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def phone_page(browser, client):
    """A 390x844 phone viewport (iPhone 12-14 size), Chinese locale; `client` resets the data."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", device_scale_factor=2)
    yield new_page(context)
    context.close()


@pytest.fixture()
def desk_page(browser, client):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")  # a window clerk's laptop
    yield new_page(context)
    context.close()


def new_page(context):
    page = context.new_page()
    if CPU_THROTTLE > 1:
        context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": CPU_THROTTLE})
    return page


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
