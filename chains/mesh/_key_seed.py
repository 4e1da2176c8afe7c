"""The key seed file of a mesh: the secret every key of its chains derives from.

`Mesh.save_keys` writes it beside the key files (``<keys>/seed``, mode 0600) and
``chains.mesh._genesis.load_key_seed`` reads it back for the chain processes and clients
of a genesis (see `ChainConfig.key_seed` for what the seed protects). The file holds the
seed in hex on one line; an empty file is the empty seed of an in-process simulation
served to clients (`serve_mesh`), whose keys anyone can derive.
"""

from __future__ import annotations

import os
from pathlib import Path

from chains.contract._keys import KeyFileError

__all__ = ["KEY_SEED_NAME", "save_key_seed"]

KEY_SEED_NAME = "seed"
"""The key seed file's name in a key directory."""


def save_key_seed(directory: str | os.PathLike[str], seed: bytes) -> Path:
    """Write ``seed`` to ``directory/seed`` (hex, readable by its owner only); returns the
    path. Raises `KeyFileError` if the file exists or cannot be written."""
    path = Path(directory) / KEY_SEED_NAME
    try:
        # O_EXCL with mode 0600: the secret is never, even briefly, in a wider file, and
        # a second genesis in the same folder cannot replace the first one's seed
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(str(path), "exists") from None
    except OSError as exc:
        raise KeyFileError(str(path), f"cannot be written: {exc}") from None
    try:
        os.write(fd, seed.hex().encode("ascii") + b"\n")
        os.fsync(fd)
    except OSError as exc:
        raise KeyFileError(str(path), f"cannot be written: {exc}") from None
    finally:
        os.close(fd)
    return path
