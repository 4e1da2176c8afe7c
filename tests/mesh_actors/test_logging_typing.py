"""Structured logging context, and static typing of actor references (checked by mypy)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from mesh_actors import Actor, Message, handler
from mesh_actors.testing import virtual_system


class Hello(Message):
    pass


class Chatty(Actor[Hello]):
    @handler
    def hello(self, _: Hello) -> None:
        self.ctx.log.info("hello handled")
        raise ValueError("and then failed")


@pytest.mark.anyio
async def test_logs_carry_system_actor_message_type_and_correlation() -> None:
    with capture_logs() as logs:
        async with virtual_system("logsys") as system:
            ref = system.spawn(Chatty, name="chatty")
            with pytest.raises(Exception):  # noqa: B017 - the HandlerError is tested elsewhere
                await ref.ask(Hello())
    handled = next(e for e in logs if e["event"] == "hello handled")
    assert handled["system"] == "logsys"
    assert handled["actor"] == "chatty"
    assert handled["message_type"] == "Hello"
    assert handled["correlation_id"] >= 1
    failed = next(e for e in logs if e["event"] == "actor failed")
    assert failed["log_level"] == "error"
    assert failed["directive"] == "restart"
    assert (failed["system"], failed["actor"]) == ("logsys", "chatty")


@pytest.mark.anyio
async def test_debug_mode_logs_every_message_and_normal_mode_none() -> None:
    class Quiet(Actor[Hello]):
        @handler
        def hello(self, _: Hello) -> None:
            pass

    for debug, expected in ((False, 0), (True, 3)):
        with capture_logs() as logs:
            async with virtual_system("dbg", debug=debug) as system:
                ref = system.spawn(Quiet, name="q")
                ref.tell_nowait(Hello())
                ref.tell_nowait(Hello())
                await ref.ask(Hello())
        handling = [e for e in logs if e["event"] == "handling"]
        assert len(handling) == expected
        if debug:
            assert handling[-1]["kind"] == "ASK"
            assert handling[-1]["message_type"] == "Hello"
            assert handling[0]["actor"] == "q"


def test_mypy_rejects_a_message_the_actor_does_not_accept(tmp_path: Path) -> None:
    """``ActorRef[M]`` is generic over accepted messages, so a wrong tell is a type error."""
    api = pytest.importorskip("mypy.api")
    source = tmp_path / "typed_refs.py"
    source.write_text(
        textwrap.dedent(
            """
            from mesh_actors import Actor, ActorSystem, Message, handler

            class Deposit(Message):
                amount: int

            class Withdraw(Message):
                amount: int

            class Unrelated(Message):
                pass

            class Account(Actor[Deposit | Withdraw]):
                @handler
                def deposit(self, msg: Deposit) -> None: ...

                @handler
                def withdraw(self, msg: Withdraw) -> None: ...

            async def use(system: ActorSystem) -> None:
                account = system.spawn(Account)
                account.tell_nowait(Deposit(amount=1))
                await account.tell(Withdraw(amount=1))
                account.tell_nowait(Unrelated())
                n: int = await account.ask(Deposit(amount=2), expect=int)
            """
        )
    )
    out, _, status = api.run(
        [str(source), "--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache")]
    )
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert status == 1
    assert len(errors) == 1, out
    assert "Unrelated" in errors[0] and "tell_nowait" in errors[0]
