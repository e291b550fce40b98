"""Node.js for the tests that run JavaScript tools (json-logic-js, the TypeScript client): skipped where node is
missing, a failure where CI says it must be there (REQUIRE_NODE=1) or the packages were not installed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


def node_for(directory: Path, package: str) -> str:
    """The path of ``node``, once ``npm ci`` has installed ``package`` in ``directory``."""
    node = shutil.which("node")
    if node is None:
        if os.environ.get("REQUIRE_NODE"):
            pytest.fail("REQUIRE_NODE is set but node is not on PATH")
        pytest.skip("node is not installed (CI sets REQUIRE_NODE=1)")
    if not (directory / "node_modules" / package).is_dir():
        pytest.fail(f"{package} is not installed: run `npm ci` in {directory}")
    return node
