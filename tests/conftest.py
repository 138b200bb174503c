"""Test configuration: Hypothesis explores new examples locally, and is deterministic in CI
(``CI`` set), so that a CI run is reproducible."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# fixture modules that tests also import helpers from (pytest_plugins)
pytest.register_assert_rewrite("tests.patch_windows_fixtures")

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
