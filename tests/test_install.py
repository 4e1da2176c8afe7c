"""The package installs what it imports (issue 11).

A normal ``pip install`` (dependencies resolved, not ``--no-deps``) of a copy of the source into
a fresh virtual environment without the test extras, then ``import mesh_actors, transport,
chains`` and the ``mesh`` console script there: a dependency that the code imports but
``pyproject.toml`` does not declare fails here, where the shared development environment
(which has every extra) would hide it. pip may take the packages from its cache.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mesh_actors", "transport", "chains")


def _copy_source(target: Path) -> None:
    # a copy, so the build's egg-info and build/ folders never land in the working tree
    target.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, target / name)
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            target / package,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )


# the test extras: a public `testing` module (a pytest conformance suite) may need them
_TEST_EXTRAS = {"pytest", "hypothesis", "trio"}

_PROBE = """
import importlib, importlib.util, pkgutil, sys
import mesh_actors, transport, chains, chains.mesh
for extra in ("pytest", "hypothesis"):
    assert importlib.util.find_spec(extra) is None, f"{extra} (a test extra) was installed"
failures = []
for package in (mesh_actors, transport, chains):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        try:
            importlib.import_module(module.name)
        except ModuleNotFoundError as exc:
            if not ("testing" in module.name.split(".") and exc.name in EXTRAS):
                failures.append(f"{module.name}: {exc}")
assert not failures, "\\n".join(failures)
print(chains.__file__)
"""


def test_a_normal_install_without_test_extras_imports_every_module(tmp_path: Path) -> None:
    source = tmp_path / "src"
    _copy_source(source)
    env_dir = tmp_path / "env"
    # no pip of its own (ensurepip is slow): this environment's pip installs into it
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [
            sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
            "--disable-pip-version-check", str(source),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    # run from an empty folder, isolated: the working tree must not be what gets imported
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    probe = f"EXTRAS = {sorted(_TEST_EXTRAS)!r}\n" + _PROBE
    imported = subprocess.run(
        [str(python), "-I", "-c", probe], cwd=elsewhere, capture_output=True, text=True, timeout=120
    )
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip().startswith(str(env_dir)), imported.stdout
    script = subprocess.run(
        [str(env_dir / "bin" / "mesh"), "--help"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert script.returncode == 0, script.stderr
    assert "exit status:" in script.stdout
