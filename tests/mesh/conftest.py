"""Fixtures of the mesh tests: small topologies that run in milliseconds of wall time."""

from __future__ import annotations

import sys
from pathlib import Path

# the helpers are imported as tests.mesh._...: make the repository root win
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
