"""The ``mesh`` subcommands of a mesh of processes: genesis, up (Ctrl-C), tx, bad input."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from chains.mesh import (
    GenesisError,
    load_manifest,
    load_topology,
    main,
    mesh_command,
    process_topology,
    status_path,
    topology_hash,
)
from tests.chains.processes._topology import processes_text


def _topology_file(tmp_path: Path, transport: str = "tcp") -> Path:
    path = tmp_path / "mesh.toml"
    path.write_text(processes_text(transport), encoding="utf-8")
    return path


def _mesh(*words: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(words), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_genesis_writes_state_files_manifest_and_keys_once(tmp_path: Path) -> None:
    topology_file = _topology_file(tmp_path)
    data = tmp_path / "data"
    code, out, err = _mesh("genesis", str(topology_file), "--data", str(data))
    assert code == 0, err
    assert "genesis of" in out
    manifest = load_manifest(data, load_topology(topology_file))
    assert manifest.topology_hash == topology_hash(load_topology(topology_file))
    assert {c.chain_id for c in manifest.chains} == {"osmosis", "juno"}
    assert (data / "osmosis.sqlite").exists() and (data / "juno.sqlite").exists()
    assert (data / "keys" / "alice.key").stat().st_mode & 0o077 == 0
    pairing = manifest.pairing("osmosis", "juno")
    assert pairing.consumer_channel and pairing.provider_channel
    # a second genesis into the same directory is refused, and nothing is overwritten
    code, _, err = _mesh("genesis", str(topology_file), "--data", str(data))
    assert code == 2 and "holds a genesis already" in err


def test_a_data_directory_of_another_topology_is_refused(tmp_path: Path) -> None:
    topology_file = _topology_file(tmp_path)
    data = tmp_path / "data"
    assert _mesh("genesis", str(topology_file), "--data", str(data))[0] == 0
    other = load_topology(topology_file).model_copy(update={"genesis_time": 1})
    try:
        load_manifest(data, other)
    except GenesisError as exc:
        assert "another topology" in exc.detail
    else:  # pragma: no cover - the check failed
        raise AssertionError("a manifest of another topology was accepted")
    code, _, err = _mesh("tx", "--topology", str(topology_file), "--data", str(tmp_path), "status")
    assert code == 2 and "no genesis" in err


def test_bad_arguments_exit_2(tmp_path: Path) -> None:
    topology_file = _topology_file(tmp_path)
    assert _mesh("node", "--topology", str(topology_file), "--chain", "nowhere")[0] == 2
    assert _mesh("relayer", "--topology", str(topology_file), "--path", "a:b")[0] == 2
    code, _, err = _mesh("tx", "--topology", str(topology_file), "bond", "osmosis")
    assert code == 2 and "CHAIN USER AMOUNT" in err


@pytest.mark.parametrize("transport", ["tcp", "memory"])
def test_mesh_up_runs_every_process_and_ctrl_c_stops_them_all_with_130(
    tmp_path: Path, transport: str
) -> None:
    # "memory": a topology without a network runs as processes over loopback TCP
    topology_file = _topology_file(tmp_path, transport)
    data = tmp_path / "data"
    up = subprocess.Popen(
        mesh_command("up", str(topology_file), "--data", str(data), "--no-table"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
        cwd=Path(__file__).resolve().parents[3],
    )
    lines: list[bytes] = []
    assert up.stdout is not None and up.stderr is not None
    stdout_pipe, stderr_pipe = up.stdout, up.stderr
    reader = threading.Thread(target=lambda: lines.extend(iter(stdout_pipe.readline, b"")))
    reader.start()
    try:
        deadline = time.monotonic() + 60
        pids: dict[str, int] = {}
        while len(pids) < 3 and time.monotonic() < deadline:
            for name in ("osmosis", "juno", "relayer-juno-osmosis"):
                try:
                    pids[name] = json.loads(status_path(data, name).read_text())["pid"]
                except (OSError, ValueError, KeyError):
                    continue
            time.sleep(0.2)
        assert len(pids) == 3, pids
        code, out, err = _mesh(
            "tx", "--topology", str(topology_file), "--data", str(data), "status"
        )
        assert code == 0, err
        assert {s["chain_id"] for s in json.loads(out)} == {"osmosis", "juno"}
        # `up` polls its processes every half second: wait until it has said "running" for
        # each (on a loaded machine its poll can come well after the status files)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if sum(line.endswith(b": running\n") for line in list(lines)) >= 3:
                break
            time.sleep(0.1)
        up.send_signal(signal.SIGINT)
        up.wait(timeout=30)
        reader.join(timeout=10)
    finally:
        if up.poll() is None:  # pragma: no cover - only when the test failed
            up.kill()
            up.wait()
    stderr = stderr_pipe.read()
    stdout_pipe.close()
    stderr_pipe.close()
    assert up.returncode == 130, stderr.decode()
    assert sum(line.endswith(b": running\n") for line in lines) == 3, lines
    for pid in pids.values():  # every child is gone
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        raise AssertionError(f"process {pid} still runs")  # pragma: no cover


def test_a_memory_topology_runs_as_processes_on_loopback_ports_chosen_at_genesis(
    tmp_path: Path,
) -> None:
    topology_file = _topology_file(tmp_path, "memory")
    topology = load_topology(topology_file)
    data = tmp_path / "data"
    assert _mesh("genesis", str(topology_file), "--data", str(data))[0] == 0
    running = process_topology(topology, data)
    assert running.network.transport == "tcp"
    ports = {c.id: c.address for c in running.chains}
    assert all(a is not None and a.startswith("127.0.0.1:") for a in ports.values())
    assert len(set(ports.values())) == len(ports)
    secret = Path(running.network.secret_file or "")
    assert len(secret.read_text()) == 64 and secret.stat().st_mode & 0o077 == 0
    # the same choice for every process of the directory, and the same genesis
    assert process_topology(topology, data) == running
    assert load_manifest(data, running).topology_hash == topology_hash(topology)
    # a topology with a network of its own is run as it says
    tcp = load_topology(_topology_file(tmp_path, "tcp"))
    assert process_topology(tcp, data) is tcp
    # no choice in the directory: a named error, not a silent in-memory network
    (data / "loopback.json").unlink()
    with pytest.raises(GenesisError, match="no loopback network"):
        process_topology(topology, data)
