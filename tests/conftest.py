"""Test configuration: Hypothesis explores new examples locally, and is deterministic in CI
(``CI`` set), so that a CI run is reproducible."""

from __future__ import annotations

import os
import tempfile

import pytest
from hypothesis import settings

# fixture modules that tests also import helpers from (pytest_plugins)
pytest.register_assert_rewrite("tests.patch_windows_fixtures")

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# One lease store per test session (the controllers the tests start inherit it), so that
# concurrent test sessions on one machine never see each other's leases.
os.environ["ORCHESTRATOR_LEASES"] = os.path.join(
    tempfile.mkdtemp(prefix="orch-test-leases-"), "leases.sqlite"
)
