"""Latency reports of a chaos run directory: PNG plots, a Markdown summary, an HTML page.

`write_report` reads what `run_chaos` wrote (``summary.json``, ``latency.jsonl``, the
seeds' histories) and writes into ``<run_dir>/report/``:

- ``latency_cdf.png``: the latency CDF of each flow (seconds, log scale);
- ``latency_hist.png``: a histogram of each flow's latency in blocks;
- ``timeline.png``: one seed's operations (invoke → completion, coloured by outcome) with
  the plan's fault windows shaded;
- ``rate.png``: operations completed per minute of clock time, over every seed;
- ``report.md``: checks, faults by kind, the percentile table (p50/p90/p99/p99.9/max in
  seconds and blocks, from HdrHistograms) and the plots;
- ``report.html``: the same on one page.

The plots need matplotlib (the ``report`` extra); without it `ReportUnavailable` is raised.
matplotlib is imported here, lazily, with the Agg backend: no display is ever needed.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chains.mesh._errors import MeshError
from chains.mesh.chaos._latency import FLOWS, LatencySample, LatencyTable

__all__ = ["ReportFiles", "ReportUnavailable", "write_report"]

_OUTCOME_COLOURS = {"ok": "tab:green", "fail": "tab:red", "info": "tab:orange"}


class ReportUnavailable(MeshError):
    """A report cannot be written: ``reason`` says why (matplotlib missing, not a run
    directory)."""

    fields = ("reason",)
    reason: str

    def __init__(self, reason: str) -> None:
        super().__init__(reason)

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True)
class ReportFiles:
    """The files `write_report` wrote."""

    markdown: Path
    html: Path
    plots: tuple[Path, ...]


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ReportUnavailable(
            "the chaos report needs matplotlib: install mesh-actors[report]"
        ) from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _seed_dirs(run_dir: Path) -> list[Path]:
    seeds = run_dir / "seeds"
    if not seeds.is_dir():
        return []
    return sorted((p for p in seeds.iterdir() if p.is_dir()), key=lambda p: int(p.name))


def write_report(run_dir: str | Path, out_dir: str | Path | None = None) -> ReportFiles:
    """Write the report of ``run_dir`` (see the module docstring) into ``out_dir`` (default
    ``<run_dir>/report``). Raises `ReportUnavailable` if ``run_dir`` has no
    ``summary.json`` or matplotlib is missing."""
    run = Path(run_dir)
    summary_path = run / "summary.json"
    if not summary_path.is_file():
        raise ReportUnavailable(f"{run} is not a chaos run directory (no summary.json)")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    plt = _pyplot()
    out = Path(out_dir) if out_dir is not None else run / "report"
    out.mkdir(parents=True, exist_ok=True)
    samples = [
        LatencySample(d["flow"], d["seconds"], d["blocks"], d["seed"], d["op"])
        for d in _read_jsonl(run / "latency.jsonl")
    ]
    table = LatencyTable()
    for sample in samples:
        table.record(sample)
    plots = (
        _cdf(plt, samples, out / "latency_cdf.png"),
        _histogram(plt, samples, out / "latency_hist.png"),
        _timeline(plt, run, out / "timeline.png"),
        _rate(plt, run, out / "rate.png"),
    )
    markdown = out / "report.md"
    markdown.write_text(_markdown(summary, table, plots), encoding="utf-8")
    page = out / "report.html"
    page.write_text(_html(summary, table, plots), encoding="utf-8")
    return ReportFiles(markdown, page, plots)


def _by_flow(samples: list[LatencySample]) -> dict[str, list[LatencySample]]:
    out: dict[str, list[LatencySample]] = {}
    for s in samples:
        out.setdefault(s.flow, []).append(s)
    return {f: out[f] for f in FLOWS if f in out}


def _cdf(plt: Any, samples: list[LatencySample], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(8, 5))
    for flow, group in _by_flow(samples).items():
        values = sorted(max(s.seconds, 1e-3) for s in group)
        fractions = [(i + 1) / len(values) for i in range(len(values))]
        ax.step(values, fractions, where="post", label=f"{flow} (n={len(values)})")
    ax.set_xscale("log")
    ax.set_xlabel("latency (clock seconds, log)")
    ax.set_ylabel("fraction of operations")
    ax.set_title("Latency CDF per flow")
    ax.grid(True, alpha=0.3)
    if samples:
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)
    return path


def _histogram(plt: Any, samples: list[LatencySample], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(8, 5))
    for flow, group in _by_flow(samples).items():
        values = [s.blocks for s in group]
        bins = range(0, max(values) + 2)
        ax.hist(values, bins=list(bins), alpha=0.5, label=flow)
    ax.set_xlabel("latency (blocks)")
    ax.set_ylabel("operations")
    ax.set_title("Latency histogram per flow")
    if samples:
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)
    return path


def _timeline(plt: Any, run: Path, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(10, 5))
    seeds = _seed_dirs(run)
    chosen = None
    # the first failing seed tells the most; else the first seed
    for seed in seeds:
        if (seed / "repro.json").exists():
            chosen = seed
            break
    if chosen is None and seeds:
        chosen = seeds[0]
    title = "Timeline (no seed recorded)"
    if chosen is not None:
        record = json.loads((chosen / "record.json").read_text(encoding="utf-8"))
        for window in record.get("timeline", []):
            end = window["end"] if window["end"] is not None else record.get("end_time", 0)
            ax.axvspan(window["start"], end, alpha=0.15, color="tab:purple")
            ax.text(window["start"], 0, window["kind"], fontsize="x-small", rotation=90)
        invokes: dict[int, float] = {}
        for e in _read_jsonl(chosen / "history.jsonl"):
            if e["type"] == "invoke":
                invokes[e["op"]] = e["time"]
            elif e["op"] in invokes:
                start = invokes[e["op"]]
                colour = _OUTCOME_COLOURS.get(e["type"], "grey")
                ax.plot([start, max(e["time"], start + 0.5)], [e["op"], e["op"]], color=colour)
        title = f"Timeline of seed {chosen.name} (shaded: fault windows)"
    ax.set_xlabel("clock seconds since the mesh started")
    ax.set_ylabel("operation")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)
    return path


def _rate(plt: Any, run: Path, path: Path) -> Path:
    counts: dict[str, dict[int, int]] = {"ok": {}, "fail": {}, "info": {}}
    for seed in _seed_dirs(run):
        for e in _read_jsonl(seed / "history.jsonl"):
            bucket = counts.get(e["type"])
            if bucket is not None:
                minute = int(e["time"] // 60)
                bucket[minute] = bucket.get(minute, 0) + 1
    fig, ax = plt.subplots(figsize=(8, 4))
    for kind, bucket in counts.items():
        if bucket:
            xs = sorted(bucket)
            ax.plot(
                xs, [bucket[x] for x in xs], marker=".", label=kind, color=_OUTCOME_COLOURS[kind]
            )
    ax.set_xlabel("clock minute")
    ax.set_ylabel("operations completed (all seeds)")
    ax.set_title("Completion rate over time")
    if any(counts.values()):
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)
    return path


def _checks_rows(summary: dict[str, Any]) -> list[tuple[str, int, int]]:
    return [(name, c["passed"], c["failed"]) for name, c in summary.get("checks", {}).items()]


def _markdown(summary: dict[str, Any], table: LatencyTable, plots: tuple[Path, ...]) -> str:
    lines = [
        f"# Chaos report: {summary.get('plan') or 'unnamed plan'}",
        "",
        f"Topology {summary.get('topology', '')!s}, {summary.get('seeds', 0)} seeds"
        + (" (interrupted)" if summary.get("interrupted") else "")
        + ".",
        "",
        "## Checks",
        "",
        "| check | passed | failed |",
        "|---|---|---|",
    ]
    lines += [f"| {n} | {p} | {f} |" for n, p, f in _checks_rows(summary)]
    failing = summary.get("failing_seeds", {})
    lines += ["", f"Failing seeds: {', '.join(failing) if failing else 'none'}", ""]
    lines += ["## Faults injected", "", "| kind | count |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in summary.get("faults", {}).items()]
    lines += ["", "## Latency percentiles", "", table.markdown(), "## Plots", ""]
    lines += [f"![{p.stem}]({p.name})" for p in plots]
    return "\n".join(lines) + "\n"


def _html(summary: dict[str, Any], table: LatencyTable, plots: tuple[Path, ...]) -> str:
    def esc(value: object) -> str:
        return html.escape(str(value))

    checks = "".join(
        f"<tr><td>{esc(n)}</td><td>{p}</td><td>{f}</td></tr>" for n, p, f in _checks_rows(summary)
    )
    names = ["p50", "p90", "p99", "p99.9", "max"]
    latency = ""
    for flow in table.flows():
        secs = table.percentiles(flow, "seconds")
        blocks = table.percentiles(flow, "blocks")
        cells = "".join(f"<td>{secs[n]:.3f}</td>" for n in names)
        cells += "".join(f"<td>{blocks[n]:.0f}</td>" for n in names)
        latency += f"<tr><td>{esc(flow)}</td><td>{table.count(flow)}</td>{cells}</tr>"
    head = "".join(f"<th>{n} s</th>" for n in names) + "".join(
        f"<th>{n} blocks</th>" for n in names
    )
    images = "".join(
        f'<figure><img src="{esc(p.name)}" alt="{esc(p.stem)}"></figure>' for p in plots
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Chaos report: {esc(summary.get('plan', ''))}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px}img{max-width:100%}</style></head><body>"
        f"<h1>Chaos report: {esc(summary.get('plan') or 'unnamed plan')}</h1>"
        f"<p>{esc(summary.get('seeds', 0))} seeds</p>"
        f"<h2>Checks</h2><table><tr><th>check</th><th>passed</th><th>failed</th></tr>{checks}"
        f"</table><h2>Latency percentiles</h2><table><tr><th>flow</th><th>n</th>{head}</tr>"
        f"{latency}</table><h2>Plots</h2>{images}</body></html>\n"
    )
