"""`make demo` (examples/demo.py) run in-process, so the demo cannot silently rot.

The figures are the demo topology's (examples/topologies/demo.toml, the seed topology with
short epochs): prices 0.5, 4, 1.5, 2 and discounts 0.1, 0.2, 0.25, 0.1 (C-69); Juno's
double-sign fraction 0.1 (C-36).
"""

from __future__ import annotations

import pytest

from examples.demo import main

pytestmark = pytest.mark.anyio


async def test_demo_tells_the_seed_story_with_exact_figures_I_89_I_91_I_92() -> None:
    lines: list[str] = []
    figures = await main(7, echo=lines.append)
    # C-69: amount x price x (1 - discount), for 5M, 5M, 3M and 3M cross-staked
    assert figures.virtual_stake_after_staking == {
        "osmosis→juno": 2_250_000,  # 5_000_000 * 0.5 * 0.9
        "osmosis→stargaze": 16_000_000,  # 5_000_000 * 4 * 0.8
        "akash→juno": 3_375_000,  # 3_000_000 * 1.5 * 0.75
        "juno→osmosis": 5_400_000,  # 3_000_000 * 2 * 0.9
    }
    # I-54: alice's Stargaze rewards reached her Stargaze address
    assert figures.claimed_ustars > 0
    # C-36: juno-val1 holds 20_000_000 + 2_250_000 + 3_375_000 tokens, power 25: 10 %
    assert figures.juno_val1_burned == 2_500_000
    # I-89: Osmosis's virtual stake's share, round(2_250_000 / 25_625_000 * 2_500_000) =
    # 219_512 ujuno, inverted: floor(floor(219_512 * 2) * 1.111111111111111111) = 487_804
    assert figures.provider_slashes == {"osmosis": 487_804, "akash": 292_680}
    assert figures.juno_val1_view == {"osmosis": "tombstoned", "akash": "tombstoned"}
    # I-91, I-92: alice's collateral fell below her Stargaze lien: 487_804 * 4 * 0.8 burnt
    assert figures.alice_collateral_after_slash == 5_000_000 - 487_804
    assert figures.stargaze_burn == 1_560_972
    # I-93, C-70: juno-val1's virtual stake is gone; bob's 2_000_000 at the new price 2
    # adds 3_200_000 on Stargaze; carol unstaked 1_000_000 (I-52, P-70)
    assert figures.virtual_stake_final == {
        "osmosis→juno": 0,
        "osmosis→stargaze": 16_000_000 - 1_560_972 + 3_200_000,
        "akash→juno": 0,
        "juno→osmosis": 3_600_000,
    }
    assert figures.carol_lien_after_release == 2_000_000
    assert figures.packets_timed_out == 0
    assert figures.invariant_violations == []
    text = "\n".join(lines)
    for heading in ("1. ", "2. ", "3. ", "4. ", "5. ", "6. ", "7. "):
        assert f"\n{heading}" in text
    assert "every invariant holds" in text
