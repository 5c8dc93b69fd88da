"""The CI-sized fault campaign: two seeds of tests/chaos/campaign.py, each with two
replicas, a `run --once` beside them and the old provider and Kubernetes faults, one with
the leader SIGKILLed mid-pass and one with the leader's API-server connection refused
past the lease duration (`make chaos` runs two hundred and prints the table). The
checker itself is unit-tested in test_checker.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.campaign import CONVERGE_PASSES, run

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("seed", "fault"), [(10, "lead:sigkill"), (18, "lead:cut-refuse")])
def test_a_seeded_fault_run_keeps_one_writer_converges_and_loses_nothing(
    seed: int, fault: str, tmp_path: Path
) -> None:
    outcome = run(seed, tmp_path, chaos_seconds=2.0)
    assert not outcome.error, outcome
    assert fault in outcome.faults
    assert outcome.terms >= 2, outcome  # the Lease changed hands: leadership was tested
    assert outcome.one_writer, outcome.findings
    assert outcome.converged and outcome.passes <= CONVERGE_PASSES, outcome
    assert outcome.duplicates == 0 and outcome.foreign_changed == 0, outcome
    assert outcome.owned_lost == 0 and outcome.origin_empty == 0, outcome
    assert outcome.samples > 50  # the sampler really watched
