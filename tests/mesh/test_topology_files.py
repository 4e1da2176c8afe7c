"""Topology files: shapes, semantic checks, and errors that point at the offending line."""

from __future__ import annotations

from pathlib import Path

import pytest

from chains import (
    ConfigIssue,
    RemotePriceFeedSpec,
    SimplePriceFeedSpec,
    Topology,
    TopologyError,
    UnknownChain,
    UnknownPairing,
    load_topology,
    parse_topology,
)
from chains.mesh import TomlLocator
from tests.mesh._topologies import CHAIN_JUNO, CHAIN_OSMOSIS, EXAMPLES, SMALL, pairing


def errors(text: str) -> list[ConfigIssue]:
    with pytest.raises(TopologyError) as caught:
        parse_topology(text, "bad.toml")
    return list(caught.value.issues)


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """The 1-based line of the ``nth`` line containing ``needle``."""
    found = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    return found[nth - 1]


# -- a valid file ---------------------------------------------------------------------------


def test_small_topology_parses_with_defaults() -> None:
    t = parse_topology(SMALL)
    assert [c.id for c in t.chains] == ["osmosis", "juno"]
    assert t.providers() == ("osmosis",) and t.consumers() == ("juno",)
    (p,) = t.pairings
    assert p.key == ("osmosis", "juno")
    assert str(p.discount) == "0.1" and p.max_cap == 100_000_000
    assert isinstance(p.price_feed, SimplePriceFeedSpec) and str(p.price_feed.price) == "0.5"
    assert t.links() == (("juno", "osmosis"),)
    relayers = t.relayers_of("osmosis", "juno")  # none given: one default relayer
    assert relayers.count == 1 and relayers.faults.link_faults.clean


@pytest.mark.parametrize(
    "name",
    [
        "seed.toml",
        "stress.toml",
        "one_to_one.toml",
        "one_to_many.toml",
        "many_to_one.toml",
        "mutual.toml",
    ],
)
def test_example_topologies_load(name: str) -> None:
    t = load_topology(EXAMPLES / "topologies" / name)
    assert t.pairings


def test_seed_topology_is_the_reference_diagram_plus_juno_to_osmosis() -> None:
    t = load_topology(EXAMPLES / "topologies" / "seed.toml")
    assert {p.key for p in t.pairings} == {
        ("osmosis", "juno"),
        ("osmosis", "stargaze"),
        ("akash", "juno"),
        ("juno", "osmosis"),
    }
    # one connection per chain pair: both directions of osmosis/juno share one
    assert len(t.links()) == 3


def test_topology_is_frozen() -> None:
    t = parse_topology(SMALL)
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen-instance error
        t.name = "other"  # type: ignore[misc]


def test_fault_plan_maps_to_the_transport_link_faults() -> None:
    text = (
        SMALL
        + """
[[relayers]]
chains = ["juno", "osmosis"]
count = 2
max_batch = 10
faults = { drop = 0.1, duplicate = 0.2, reorder = 0.3, delay = 0.5, drop_packets = 0.05 }
"""
    )
    spec = parse_topology(text).relayers_of("osmosis", "juno")
    assert spec.count == 2 and spec.max_batch == 10
    faults = spec.faults.link_faults
    assert (faults.drop, faults.duplicate, faults.reorder) == (0.1, 0.2, 0.3)
    assert faults.delay is not None and faults.delay.sample(0.7) == 0.5
    assert spec.faults.drop_packets == 0.05


def test_remote_price_feed_spec() -> None:
    text = (
        CHAIN_OSMOSIS
        + CHAIN_JUNO
        + """
[[pairings]]
provider = "osmosis"
consumer = "juno"
discount = "0.1"
max_cap = 1_000
price_feed = { kind = "remote", host = "osmosis", price = "0.5", pool_id = 7 }
"""
    )
    (p,) = parse_topology(text).pairings
    assert isinstance(p.price_feed, RemotePriceFeedSpec) and p.price_feed.pool_id == 7


# -- errors with lines ----------------------------------------------------------------------


def test_unknown_chain_in_a_pairing_points_at_its_line() -> None:
    text = CHAIN_OSMOSIS + CHAIN_JUNO + pairing("osmosis", "junoo")
    (issue,) = errors(text)
    assert issue.path == ("pairings", 0, "consumer")
    assert issue.line == line_of(text, 'consumer = "junoo"')
    assert "unknown chain 'junoo'" in issue.message and "juno, osmosis" in issue.message


def test_error_text_is_file_line_path_message() -> None:
    text = CHAIN_OSMOSIS + CHAIN_JUNO + pairing("osmosis", "junoo")
    with pytest.raises(TopologyError) as caught:
        parse_topology(text, "bad.toml")
    line = line_of(text, 'consumer = "junoo"')
    assert str(caught.value).startswith(f"bad.toml:{line}: pairings[0].consumer: unknown chain")


def test_every_structural_problem_is_reported_with_its_line() -> None:
    text = (
        CHAIN_OSMOSIS.replace("tokens = 10_000_000, commission", "tokens = 5.5, commission", 1)
        + CHAIN_JUNO
        + pairing("osmosis", "juno").replace('discount = "0.1"', 'discount = "1.5"')
        + '\n[[relayers]]\nchains = ["osmosis", "juno"]\nfaults = { drop = 2.0 }\ncolour = "red"\n'
    )
    issues = {(i.path, i.line): i.message for i in errors(text)}
    tokens = (("chains", 0, "validators", 0, "tokens"), line_of(text, "tokens = 5.5"))
    assert "whole numbers" in issues[tokens]
    discount = (("pairings", 0, "discount"), line_of(text, 'discount = "1.5"'))
    assert "below 1" in issues[discount]
    drop = (("relayers", 0, "faults", "drop"), line_of(text, "drop = 2.0"))
    assert "less than or equal to 1" in issues[drop]
    extra = (("relayers", 0, "colour"), line_of(text, "colour"))
    assert issues[extra] == "unknown key 'colour'"


def test_decimals_written_as_numbers_get_a_hint() -> None:
    text = CHAIN_OSMOSIS + CHAIN_JUNO + pairing("osmosis", "juno").replace('"0.1"', "0.1")
    (issue,) = errors(text)
    assert issue.path == ("pairings", 0, "discount")
    assert 'write decimals as strings: "0.1"' in issue.message


def test_missing_key_points_at_its_table() -> None:
    text = (
        CHAIN_OSMOSIS + CHAIN_JUNO + pairing("osmosis", "juno").replace("max_cap = 100000000\n", "")
    )
    (issue,) = errors(text)
    assert issue.path == ("pairings", 0, "max_cap")
    assert issue.message == "required key is missing"
    assert issue.line == line_of(text, "[[pairings]]")


def test_unknown_price_feed_kind() -> None:
    text = CHAIN_OSMOSIS + CHAIN_JUNO + pairing("osmosis", "juno").replace('"simple"', '"oracle"')
    (issue,) = errors(text)
    assert issue.path == ("pairings", 0, "price_feed")
    assert "'simple', 'remote'" in issue.message
    assert issue.line == line_of(text, "price_feed")


def test_semantic_problems_all_reported() -> None:
    text = (
        CHAIN_OSMOSIS
        + CHAIN_JUNO
        + CHAIN_JUNO.replace('prefix = "juno"', 'prefix = "juno2"')
        + pairing("osmosis", "juno")
        + pairing("osmosis", "juno")
        + pairing("juno", "juno")
        + '\n[[relayers]]\nchains = ["osmosis", "akash"]\n'
    )
    found = {(i.path, i.line, i.message) for i in errors(text)}
    messages = " | ".join(m for _, _, m in found)
    assert ("chains", 2, "id") in {p for p, _, _ in found}
    assert "repeats chains[1]" in messages
    assert "is already pairings[0]" in messages and "I-30" in messages
    assert "cannot provide security to itself" in messages
    assert "unknown chain 'akash'" in messages
    dup = next(line for p, line, _ in found if p == ("pairings", 1))
    assert dup == line_of(text, "[[pairings]]", 2)


def test_relayer_for_unlinked_chains_is_refused() -> None:
    text = (
        CHAIN_OSMOSIS
        + CHAIN_JUNO
        + CHAIN_JUNO.replace('id = "juno"', 'id = "akash"').replace('"juno"', '"akash"')
        + pairing("osmosis", "juno")
        + '\n[[relayers]]\nchains = ["osmosis", "akash"]\n'
    )
    (issue,) = errors(text)
    assert issue.path == ("relayers", 0, "chains")
    assert "nothing to relay" in issue.message


def test_account_named_like_a_validator_is_refused() -> None:
    text = (
        CHAIN_OSMOSIS.replace('name = "bob"', 'name = "val2"')
        + CHAIN_JUNO
        + pairing("osmosis", "juno")
    )
    (issue,) = errors(text)
    assert issue.path == ("chains", 0, "accounts", 1, "name")
    assert issue.line == line_of(text, '{ name = "val2", balance')


def test_toml_syntax_error_keeps_tomllib_line() -> None:
    text = SMALL + "\n[[pairings]\n"
    (issue,) = errors(text)
    assert issue.line == len(SMALL.splitlines()) + 2
    assert issue.message.startswith("not valid TOML")


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(TopologyError) as caught:
        load_topology(tmp_path / "missing.toml")
    assert "cannot read" in str(caught.value)


def test_model_built_in_code_is_checked_too() -> None:
    data = parse_topology(SMALL).model_dump(mode="json")
    data["pairings"][0]["consumer"] = "nowhere"
    with pytest.raises(TopologyError) as caught:
        Topology.model_validate(data)
    assert caught.value.issues[0].path == ("pairings", 0, "consumer")


# -- the locator ----------------------------------------------------------------------------


def test_locator_tracks_tables_arrays_inline_tables_and_multiline_arrays() -> None:
    text = """# comment with [brackets] = and "quotes"
name = "x"  # trailing
[[chains]]
id = "a"
validators = [
  { name = "v1", tokens = 1 },
  { name = "v2", tokens = 2 },
]
[chains.extra]
"dotted.key" = 1
a.b = { c = [1, 2], d = "}" }
[[chains]]
id = "b"
[[chains.accounts]]
name = "u"
"""
    loc = TomlLocator(text)
    assert loc.line_of(("name",)) == 2
    assert loc.line_of(("chains", 0, "id")) == 4
    assert loc.line_of(("chains", 0, "validators", 1, "tokens")) == 7
    assert loc.line_of(("chains", 0, "extra", "dotted.key")) == 10
    assert loc.line_of(("chains", 0, "extra", "a", "b", "c", 1)) == 11
    assert loc.line_of(("chains", 1, "id")) == 13
    assert loc.line_of(("chains", 1, "accounts", 0, "name")) == 15
    # unwritten keys fall back to the nearest written ancestor
    assert loc.line_of(("chains", 1, "accounts", 0, "balance")) == 14
    # a union tag between written keys is skipped, a missing tail kept
    assert loc.resolve(("chains", 0, "TAG", "id")) == ("chains", 0, "id")
    assert loc.resolve(("chains", 1, "missing")) == ("chains", 1, "missing")


# -- ranges: what would otherwise crash the chains at start-up (issue 12) -------------------


@pytest.mark.parametrize(
    ("old", "new", "path", "message"),
    [
        ("block_time = 5\nblock_provision", "block_time = inf\nblock_provision",
         ("chains", 1, "block_time"), "must be a finite number, got inf"),
        ("block_time = 5\nblock_provision", "block_time = nan\nblock_provision",
         ("chains", 1, "block_time"), "must be a finite number, got nan"),
        ('slash_fraction_downtime = "0.1"', 'slash_fraction_downtime = "-0.5"',
         ("chains", 1, "slash_fraction_downtime"), "must be between 0 and 1, got -0.5"),
        ('{ name = "val1", tokens = 10_000_000, commission = "0.1" }',
         '{ name = "val1", tokens = 10_000_000, commission = "-0.25" }',
         ("chains", 1, "validators", 0, "commission"),
         "commission must be between 0 and 1, got -0.25"),
    ],
)  # fmt: skip
def test_non_finite_times_and_negative_fractions_are_refused_at_load(
    old: str, new: str, path: tuple[object, ...], message: str
) -> None:
    text = SMALL.replace(old, new)
    assert text != SMALL
    (issue,) = errors(text)
    assert issue.path == path and issue.message == message
    assert issue.line == line_of(text, new.split("\n")[0])


def test_amounts_are_uint128_and_so_is_each_chains_genesis_supply_C_1() -> None:
    top = 2**128 - 1
    carol = '{ name = "carol", balance = 1_000_000_000 }'
    text = SMALL.replace(carol, f'{{ name = "carol", balance = {top} }}')
    # the largest amount alone is fine; with the validators' tokens the supply overflows
    (issue,) = errors(text)
    assert issue.path == ("chains", 1, "accounts")
    assert "genesis supply of juno" in issue.message and "below 2**128" in issue.message
    (issue,) = errors(text.replace(str(top), str(top + 1)))
    assert issue.path == ("chains", 1, "accounts", 0, "balance")
    assert issue.message.startswith("must be below 2**128")


def test_defaults_follow_the_reference_deployments() -> None:
    # mesh-security-sdk's default EpochLength (C-40) and Hermes' default clear interval
    # (100 blocks: of the faster chain, here 5 s blocks)
    t = parse_topology(SMALL)
    assert t.chain("juno").epoch_blocks == 12  # set in the text
    assert t.chain("osmosis").epoch_blocks == 1_000
    relayer = t.relayers_of("osmosis", "juno")
    assert relayer.clear_blocks == 100 and relayer.clear_period == 500.0


def test_clear_period_follows_the_faster_chain_unless_given_in_seconds() -> None:
    faster = SMALL.replace("block_time = 5\n", "block_time = 2\n", 1)
    t = parse_topology(faster + '\n[[relayers]]\nchains = ["juno", "osmosis"]\nclear_blocks = 10\n')
    assert t.relayers_of("juno", "osmosis").clear_period == 20.0
    t = parse_topology(SMALL + '\n[[relayers]]\nchains = ["osmosis", "juno"]\nclear_interval = 7\n')
    assert t.relayers_of("osmosis", "juno").clear_period == 7.0
    with pytest.raises(ValueError, match="unresolved"):
        _ = t.relayers[0].model_copy(update={"clear_interval": None}).clear_period


def test_stress_profile_keeps_frequent_epochs_and_clears() -> None:
    stress = load_topology(EXAMPLES / "topologies" / "stress.toml")
    seed = load_topology(EXAMPLES / "topologies" / "seed.toml")
    assert {p.key for p in stress.pairings} == {p.key for p in seed.pairings}
    assert {c.epoch_blocks for c in stress.chains if c.id in stress.consumers()} == {100}
    assert {c.epoch_blocks for c in seed.chains} == {1_000}
    for a, b in stress.links():
        assert stress.relayers_of(a, b).clear_period == 30.0
        assert seed.relayers_of(a, b).clear_period == 600.0


def test_lookups_of_what_the_topology_lacks_raise_named_errors() -> None:
    """`Topology.chain`, `pairing` and `relayers_of` name what is missing (no bare KeyError)."""
    t = parse_topology(SMALL)
    with pytest.raises(UnknownChain) as chain_missing:
        t.chain("cosmoshub")
    assert chain_missing.value.chain_id == "cosmoshub"
    with pytest.raises(UnknownPairing) as pairing_missing:
        t.pairing("juno", "osmosis")
    assert (pairing_missing.value.provider, pairing_missing.value.consumer) == (
        "juno",
        "osmosis",
    )
    with pytest.raises(UnknownChain):
        t.relayers_of("osmosis", "cosmoshub")
    assert t.chain("osmosis").id == "osmosis"
