"""Death watch across actor systems: the requests a watcher's system sends the target's."""

from __future__ import annotations

from ._message import Message

__all__ = ["Unwatch", "Watch"]


class Watch(Message):
    """Ask the target's system to send ``Terminated`` to ``watcher`` when ``target`` stops."""

    type_name = "mesh_actors.Watch"
    watcher: str
    target: str


class Unwatch(Message):
    """Cancel a `Watch`."""

    type_name = "mesh_actors.Unwatch"
    watcher: str
    target: str
