"""The suite's own settings (pyproject.toml) keep pytest's final "N passed" line, even when someone adds
-q as habit: -q twice (once in addopts) silences it, and a run then ends without saying how it went."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_summary_line_shows_with_the_projects_settings_and_a_habitual_q(tmp_path):
    (tmp_path / "test_one.py").write_text("def test_one():\n    pass\n")
    run = subprocess.run([sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path),
                          "-p", "no:cacheprovider", "-q", str(tmp_path / "test_one.py")],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})  # quicker; the output is pytest's
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip().splitlines()[-1].startswith("1 passed"), run.stdout
