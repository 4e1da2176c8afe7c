"""The README's "Embedding a Mesh" runs: it is `examples/embedding.py`, run here on asyncio
and trio, and the README's snippet is a verbatim excerpt of it (so the two cannot drift)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chains import MeshSnapshot, Settlement
from examples import embedding

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]


async def test_the_embedding_example_runs(anyio_backend: str) -> None:
    found = await embedding.embed()
    assert found["first"] in (Settlement.COMMITTED, Settlement.TIMED_OUT)
    assert found["second"] in (Settlement.COMMITTED, Settlement.TIMED_OUT)
    assert found["refused"] == "amount must be non-negative, not -5"
    snapshot = found["snapshot"]
    assert isinstance(snapshot, MeshSnapshot)
    assert snapshot.invariants_checked and snapshot.invariant_violations == ()
    assert len(snapshot.relayers) == 1  # the faulty relayer still answers (issue 12)
    assert "relayers" in str(found["table"])


async def test_the_example_main_prints_its_tour(
    anyio_backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await embedding.main()
    out = capsys.readouterr().out
    assert "first stake: " in out and "bond(-5) refused" in out


def _readme_snippet() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Embedding a Mesh", 1)[1].split("\n## ", 1)[0]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_snippet_is_the_example() -> None:
    snippet = _readme_snippet()
    assert "await stake.settled()" in snippet and "snapshot" in snippet
    source = (ROOT / "examples" / "embedding.py").read_text(encoding="utf-8")
    for line in snippet.splitlines():
        assert line.strip() in source, line
