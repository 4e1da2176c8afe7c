"""Sub-messages with replies, every combination (consumer.md C-9).

Mode (never / on success / on error / always) x sub-message succeeds or fails x the reply
succeeds or fails. The emitter is contract 0; the sub-message runs a node on contract 1
(failing on purpose or not); replies to odd ids fail on purpose.
"""

from __future__ import annotations

from typing import Any

import pytest

from chains.contract import (
    Contract,
    Env,
    Event,
    MessageInfo,
    Reply,
    ReplyOn,
    Response,
    SubMsg,
    UnsupportedMessage,
    WasmExecute,
)
from chains.testing import CascadeChild, CascadeNode, Echo, RunNode
from mesh_actors import Message
from tests.chains.host._kit import ALICE, HostKit

CASES = [
    (mode, sub_ok, reply_ok)
    for mode in ReplyOn
    for sub_ok in (True, False)
    for reply_ok in (True, False)
]


def _expected(mode: ReplyOn, sub_ok: bool, reply_ok: bool) -> tuple[bool, bool, bool]:
    """(reply runs, sub-message's changes kept, transaction succeeds) per C-9."""
    if sub_ok:
        replies = mode in (ReplyOn.SUCCESS, ReplyOn.ALWAYS)
        return replies, True, reply_ok or not replies
    caught = mode in (ReplyOn.ERROR, ReplyOn.ALWAYS)
    return caught, False, caught and reply_ok


@pytest.mark.parametrize(("mode", "sub_ok", "reply_ok"), CASES)
def test_reply_mode_combinations_C_9(
    kit: HostKit, mode: ReplyOn, sub_ok: bool, reply_ok: bool
) -> None:
    parent, child = kit.contracts[0], kit.contracts[1]
    reply_id = 2 if reply_ok else 3
    sub = CascadeNode(target=child, tag="sub", packet=True, fail="" if sub_ok else "error")
    root = CascadeNode(
        target=parent, tag="root", children=(CascadeChild(id=reply_id, reply_on=mode, node=sub),)
    )
    before = kit.ex.dump_state()
    parent_log, child_log = kit.log(parent), kit.log(child)

    result = kit.ex.execute(ALICE, parent, RunNode(node=root))

    replies, sub_kept, ok = _expected(mode, sub_ok, reply_ok)
    assert result.ok is ok
    if not ok:
        assert kit.ex.dump_state() == before
        assert result.events == ()
        return
    run_root = ("run", "root", ALICE, 0)
    reply_entry = ("reply", reply_id, sub_ok, "sub" if sub_ok else "CascadeFailure")
    assert kit.log(parent) == (*parent_log, run_root, *((reply_entry,) if replies else ()))
    sub_entry = ("run", "sub", parent, 0)
    assert kit.log(child) == (*child_log, *((sub_entry,) if sub_kept else ()))
    assert len(kit.ibc.outbox()) == (1 if sub_kept else 0)
    # events of a rolled-back sub-message are discarded
    tags = [e.get("tag") for e in result.events if e.type == "node"]
    assert tags == (["root", "sub"] if sub_kept else ["root"])


class ReplyProbe(Message):
    type_name = "test.reply_probe"
    target: str
    reply_data: Any = None


def test_reply_sees_sub_message_data_and_events_and_may_replace_data_C_9(kit: HostKit) -> None:
    seen: list[Reply] = []

    class Replier(Contract):
        code = "test.replier"

        def execute(self, env: Env, info: MessageInfo, msg: Message) -> Response:
            if not isinstance(msg, ReplyProbe):
                raise UnsupportedMessage("execute", type(msg).__name__)
            self.deps.storage.item("data").save(msg.reply_data)
            call = WasmExecute(contract_addr=msg.target, msg=Echo(value="echoed"))
            return Response.of(SubMsg(id=4, msg=call, reply_on=ReplyOn.SUCCESS), data="own")

        def reply(self, env: Env, reply: Reply) -> Response:
            seen.append(reply)
            return Response(
                data=self.deps.storage.item("data").load(),
                events=(Event(type="replied", attributes=(("id", str(reply.id)),)),),
            )

    kit.ex.register_code(Replier)
    echo = kit.ex.instantiate(ALICE, "test.echo", Echo()).unwrap()
    replier = kit.ex.instantiate(ALICE, "test.replier", ReplyProbe(target=echo)).unwrap()

    kept = kit.ex.execute(ALICE, replier, ReplyProbe(target=echo))
    assert kept.ok and kept.data == "own"  # a reply without data keeps the response's data
    replaced = kit.ex.execute(ALICE, replier, ReplyProbe(target=echo, reply_data="from-reply"))
    assert replaced.ok and replaced.data == "from-reply"

    assert seen[0].ok and seen[0].data == "echoed" and seen[0].error is None
    assert [e.type for e in seen[0].events] == ["execute"]
    assert [e.type for e in replaced.events] == ["execute", "execute", "replied"]


def test_caught_error_reaches_reply_as_the_named_error_C_9(kit: HostKit) -> None:
    parent, child = kit.contracts[0], kit.contracts[1]
    sub = CascadeNode(target=child, tag="boom", fail="panic")
    root = CascadeNode(
        target=parent, tag="root", children=(CascadeChild(id=0, reply_on=ReplyOn.ERROR, node=sub),)
    )
    result = kit.ex.execute(ALICE, parent, RunNode(node=root))
    assert result.ok
    assert kit.log(parent)[-1] == ("reply", 0, False, "ContractPanic")
