"""Validator check 6, model-based hotfixes (scenario S3): modes, unit activation, base before
package, synchronize/apply/activate chain, save.

Each case is one small edit of a valid sample plan and the message it must produce."""

from __future__ import annotations

import pytest

from tests.test_validator_support import (
    A,
    Edit,
    add,
    assert_reported,
    drop_edge,
    set_after,
    set_param,
)

CASES = [
    pytest.param(
        "s3-install",
        set_after("deploy", "u2/off"),
        "system 'cc': 'u1/add' is not after any inactivate_unit(u1)",
        id="package-change-on-active-unit",
    ),
    pytest.param(
        "s3-install",
        set_after("u2/on", "deploy"),
        "system 'cc': activate_unit(u2) 'u2/on' may run between the inactivate_unit(u2) and "
        "'u2/add'",
        id="unit-activated-too-early",
    ),
    pytest.param(
        "s3-install",
        set_after("monitor", "sync"),
        "system 'cc': set_mode(monitoring) 'monitor' may run between the set_mode(deployment) "
        "and 'apply'",
        id="monitoring-mode-before-apply",
    ),
    pytest.param(
        "s3-install",
        set_after("base/add", "u1/off u2/off"),
        "system 'cc': 'base/add' is not after any set_mode(deployment)",
        id="model-change-in-monitoring-mode",
    ),
    pytest.param(
        "s3-install",
        set_param("monitor", "mode", "deployment"),
        "system 'cc': 'apply' is not before any set_mode(monitoring)",
        id="never-back-to-monitoring",
    ),
    pytest.param(
        "s3-install",
        set_after("u1/add", "deploy"),
        "system 'cc': 'u1/add' is not after an add_hotfix_to_base",
        id="package-before-base",
    ),
    pytest.param(
        "s3-install",
        drop_edge("sync", "u2/add"),
        "system 'cc': 'u2/add' is not followed by synchronize_instances, then apply_changes, "
        "then activate_unit(u2)",
        id="package-change-not-synchronized",
    ),
    pytest.param(
        "s3-install",
        set_after("apply", "refresh"),
        "system 'cc': 'u1/add' is not followed by synchronize_instances, then apply_changes",
        id="apply-before-synchronize",
    ),
    pytest.param(
        "s3-install",
        set_after("save", "deploy"),
        "system 'cc': 'apply' is not followed by a save_model",
        id="model-saved-before-apply",
    ),
    pytest.param(
        "s3-install",
        add(A("sync2", "synchronize_instances", "adm", "monitor", system="cc")),
        "system 'cc': 'sync2' is not before any set_mode(monitoring)",
        id="sync-after-monitoring",
    ),
    pytest.param(
        "s3-remove",
        set_after("base/rm", "u1/off"),
        "system 'cc': 'base/rm' is not after 'u1/rm'",
        id="base-removed-before-package",
    ),
    pytest.param(
        "s3-remove",
        set_after("u1/rm", "deploy"),
        "system 'cc': 'u1/rm' is not after any inactivate_unit(u1)",
        id="remove-on-active-unit",
    ),
]


@pytest.mark.parametrize(("sample", "edit", "expected"), CASES)
def test_broken_plan_is_reported(sample: str, edit: Edit, expected: str) -> None:
    assert_reported(sample, edit, expected)
