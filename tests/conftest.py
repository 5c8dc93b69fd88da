"""Settings for the whole suite: Hypothesis profiles (markers are in pyproject.toml).

`dev` (the default) keeps `make test` quick; `ci` runs more examples and is chosen with
HYPOTHESIS_PROFILE=ci or `pytest --hypothesis-profile=ci`.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# The `kube` fixture (the emulator or the real kube-apiserver, by parameter) and the real
# server's own fixtures, for every directory that runs a test on both.
pytest_plugins = ["tests.realkube"]

settings.register_profile(
    "dev", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
