"""Provider actor tests: make ``tests.chains.provider_actors._kit`` importable."""

from __future__ import annotations

import sys
from pathlib import Path

# tests are collected with --import-mode=importlib, so the repository root is not on
# sys.path under `.venv/bin/pytest`; the helper modules of this folder are imported as
# `tests.chains.provider_actors._kit` (a namespace package path)
_ROOT = str(Path(__file__).resolve().parents[3])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
