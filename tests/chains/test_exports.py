"""`import chains` offers every public name of its private modules, and nothing else."""

from __future__ import annotations

import importlib
import pkgutil

import chains


def test_package_reexports_exactly_the_public_names_of_its_modules() -> None:
    """Each private module lists its public names in ``__all__``; ``chains/__init__.py``
    re-exports their union (regenerate it from those lists when adding a module)."""
    expected: dict[str, str] = {}
    for info in pkgutil.iter_modules(chains.__path__):
        if not info.name.startswith("_"):
            continue
        module = importlib.import_module(f"chains.{info.name}")
        for name in getattr(module, "__all__", ()):
            assert name not in expected, f"{name} is exported by {expected[name]} and {info.name}"
            expected[name] = info.name
            assert getattr(chains, name, None) is getattr(module, name), name
    assert sorted(chains.__all__) == sorted(expected)
