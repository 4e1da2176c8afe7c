"""Which actor the running task belongs to (each actor runs in a task of its own)."""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._cell import _Cell

__all__ = ["current_cell"]

# Set once at the start of each actor's task; read on every send to fill in the sender.
current_cell: contextvars.ContextVar[_Cell | None] = contextvars.ContextVar(
    "mesh_actors_current_cell", default=None
)
