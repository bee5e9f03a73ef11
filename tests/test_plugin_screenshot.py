"""The README's dialog screenshot can be rendered offscreen from the current code."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("qgis.core", reason="QGIS Python bindings not installed")
REPO = Path(__file__).resolve().parents[1]


def test_dialog_screenshot_renders(tmp_path):
    out = tmp_path / "dialog.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", SEN2COR_HOME=str(tmp_path / "home"))
    run = subprocess.run([sys.executable, str(REPO / "tools" / "screenshot_dialog.py"), str(out)],
                         env=env, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-2000:]
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20000
