"""Packaging hygiene: what the runtime and the transports import is declared, and public.

Issue 11: ``sniffio`` was imported without being declared (anyio no longer pulls it in), and
the virtual-time kit reached into trio's private scheduler.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("mesh_actors", "transport")
FIRST_PARTY = {"mesh_actors", "transport", "chains"}
# Import names a declared distribution provides besides its own name: pydantic-core is part
# of pydantic's public API (``pydantic_core.to_json``) and pinned by it.
PROVIDES = {
    "pydantic": {"pydantic", "pydantic_core"},
    # the nats-py distribution installs the `nats` package
    "nats_py": {"nats"},
}


def _declared(group: list[str]) -> set[str]:
    names: set[str] = set()
    for requirement in group:
        match = re.match(r"[A-Za-z0-9_.\-]+", requirement)
        assert match is not None, requirement
        distribution = match.group(0).lower().replace("-", "_")
        names |= PROVIDES.get(distribution, {distribution})
    return names


def _imports(package: str) -> Iterator[tuple[Path, str, bool]]:
    """(file, top-level module, imported at module level) for every import in ``package``."""
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        top_level = set(map(id, tree.body))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                yield path, name, id(node) in top_level


def test_every_third_party_import_is_declared() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    required = _declared(project["dependencies"])
    optional = _declared([r for group in project["optional-dependencies"].values() for r in group])
    undeclared = []
    for package in PACKAGES:
        for path, name, module_level in _imports(package):
            top = name.partition(".")[0]
            if top in FIRST_PARTY or top in sys.stdlib_module_names:
                continue
            # Lazily imported modules (trio, only once a trio run uses us) and the test kits
            # (`transport.testing` is a pytest suite) may use the optional dependencies.
            test_kit = "testing" in path.relative_to(ROOT).with_suffix("").parts
            allowed = required if module_level and not test_kit else required | optional
            if top not in allowed:
                undeclared.append(f"{path.relative_to(ROOT)}: {name}")
    assert undeclared == []


def test_no_private_module_of_another_library_is_imported() -> None:
    private = {
        f"{path.relative_to(ROOT)}: {name}"
        for package in PACKAGES
        for path, name, _ in _imports(package)
        if name.partition(".")[0] not in FIRST_PARTY
        and any(part.startswith("_") for part in name.split(".")[1:])
    }
    assert private == set()


def test_the_runtime_runs_where_sniffio_cannot_be_imported() -> None:
    script = textwrap.dedent(
        """
        import sys
        sys.modules["sniffio"] = None  # any `import sniffio` now raises ImportError
        import anyio
        from mesh_actors import Actor, Message, handler
        from mesh_actors.testing import virtual_system

        class Ping(Message):
            pass

        class Echo(Actor[Ping]):
            @handler
            def ping(self, _: Ping) -> int:
                return 7

        async def main() -> None:
            async with virtual_system() as system:
                assert await system.spawn(Echo).ask(Ping()) == 7
                await system.clock.sleep(60)
                assert system.clock.now() == 60

        anyio.run(main)
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ok\n"


@pytest.mark.parametrize("package", PACKAGES)
def test_the_package_ships_its_type_marker(package: str) -> None:
    assert (ROOT / package / "py.typed").is_file()
