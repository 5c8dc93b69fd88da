"""The CI-sized fault campaign: a few seeds of tests/chaos/campaign.py (`make chaos` runs
two hundred and prints the table)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.campaign import CONVERGE_PASSES, run

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("seed", [101, 202])
def test_a_seeded_fault_run_converges_and_loses_nothing(seed: int, tmp_path: Path) -> None:
    outcome = run(seed, tmp_path, chaos_seconds=2.0)
    assert not outcome.error, outcome
    assert outcome.kills >= 1
    assert outcome.converged and outcome.passes <= CONVERGE_PASSES, outcome
    assert outcome.duplicates == 0 and outcome.foreign_changed == 0, outcome
    assert outcome.owned_lost == 0 and outcome.origin_empty == 0, outcome
    assert outcome.samples > 50  # the sampler really watched
