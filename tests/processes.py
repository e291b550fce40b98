"""Processes the tests start (servers, workers, nginx, redis-server). Each runs in a session of its own
with a tag in its environment, which its children inherit: stopping it signals the whole process group,
so rq's scheduler and work horse, flask's reloader and gunicorn's or nginx's workers go with it, and
`left(tag)` finds anything that still escaped."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TAG = "MINIAPP_TEST_PROCESS"
SESSION = f"pytest-{os.getpid()}"  # every tag of this test run starts with it


def new_tag() -> str:
    return f"{SESSION}-{uuid.uuid4().hex[:8]}"


def left(prefix: str) -> list[int]:
    """Live processes (not zombies) whose environment carries a tag starting with `prefix`."""
    marker = f"{TAG}={prefix}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "stat").read_text().rpartition(")")[2].split()[0] == "Z":
                continue
            if any(var.startswith(marker) for var in (entry / "environ").read_bytes().split(b"\0")):
                found.append(int(entry.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def start(command: list[str], env: dict[str, str] | None = None, **popen) -> subprocess.Popen:
    """Popen in a new session, with a new tag (`process.tag`) in its environment."""
    tag = new_tag()
    process = subprocess.Popen(command, env={**(os.environ if env is None else env), TAG: tag}, start_new_session=True,
                               **popen)
    process.tag = tag  # type: ignore[attr-defined]
    return process


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:  # the whole group is gone already
        pass


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    """`sig` to the whole group, wait for the leader (SIGKILL if it will not go), SIGKILL any member still
    there, and wait until nothing carrying the tag is alive."""
    _signal_group(process.pid, sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _signal_group(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    _signal_group(process.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while left(process.tag) and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.05)
    still = left(process.tag)  # type: ignore[attr-defined]
    assert not still, f"{process.args!r} left processes {still} running"


@contextmanager
def running(command: list[str], env: dict[str, str] | None = None, **popen) -> Iterator[subprocess.Popen]:
    """The process for the block's duration; stopped with its whole group whatever happens."""
    process = start(command, env, **popen)
    try:
        yield process
    finally:
        stop(process)


def run(command: list[str], env: dict[str, str] | None = None, timeout: float = 120, **popen) -> subprocess.CompletedProcess:
    """subprocess.run(capture_output=True), but a timeout or an error also ends the children."""
    with running(command, env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen) as process:
        out, err = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(command, process.returncode, out, err)


@contextmanager
def serving(command: list[str], health_url: str, expect_any_status: bool = False, env: dict[str, str] | None = None,
            **popen) -> Iterator[subprocess.Popen]:
    """A server process (output discarded unless `popen` says where) for the block's duration, once
    `health_url` answers (with 200, or with anything at all when `expect_any_status`)."""
    with running(command, env, **{"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, **popen}) as server:
        wait_until_answering(server, health_url, expect_any_status)
        yield server


def wait_until_answering(server: subprocess.Popen, url: str, expect_any_status: bool = False, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"{server.args[0]} exited with {server.returncode} before answering at {url}")
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except urllib.error.HTTPError:
            if expect_any_status:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{server.args[0]} did not answer at {url}")
