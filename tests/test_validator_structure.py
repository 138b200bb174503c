"""Validator check 1 (structure) and the public API: every broken plan is one edit away from
a valid sample."""

from __future__ import annotations

import json

import pytest

from orchestrator.errors import InvariantViolation
from orchestrator.plan import plan_from_document
from orchestrator.validator import find_violations, validate
from tests.test_validator_support import (
    SAMPLES,
    A,
    Edit,
    add,
    assert_reported,
    set_after,
    set_field,
    tiers_plan,
)

CASES = [
    pytest.param(
        add(A("fe1/install", "install", "fe1", "pre")),
        "duplicate action id 'fe1/install'",
        id="duplicate-id",
    ),
    pytest.param(
        set_after("fe1/pre", "pre nope"),
        "action 'fe1/pre' is after 'nope', which is not an action of the plan",
        id="dangling-after",
    ),
    pytest.param(
        set_after("pre", "fe1/verify"),
        "cycle in `after`: 'fe1/pre' -> 'fe1/stop' -> 'fe1/install' -> 'fe1/reboot' -> "
        "'fe1/start' -> 'fe1/verify' -> 'pre' -> 'fe1/pre'",
        id="cycle",
    ),
    pytest.param(set_after("pre", "pre"), "cycle in `after`: 'pre' -> 'pre'", id="self-loop"),
    pytest.param(
        set_field("fe1/verify", host="ghost"),
        "action 'fe1/verify' runs on host 'ghost', which is not in facts.hosts",
        id="unknown-host",
    ),
    pytest.param(
        set_field("fe1/verify", cluster="nope"),
        "action 'fe1/verify' names cluster 'nope', not in facts.clusters",
        id="unknown-cluster",
    ),
    pytest.param(
        set_field("fe1/verify", kind="frobnicate"),
        "action 'fe1/verify' has unknown kind 'frobnicate'",
        id="unknown-kind",
    ),
    pytest.param(
        set_field("fe1/verify", host=["fe1"]),
        "action 'fe1/verify' runs on host ['fe1']",
        id="host-not-a-string",
    ),
]


@pytest.mark.parametrize(("edit", "expected"), CASES)
def test_structure_problem_is_reported(edit: Edit, expected: str) -> None:
    assert_reported("tiers", edit, expected)


def test_cycle_stops_further_checks() -> None:
    violations = find_violations(set_after("pre", "fe1/verify")(tiers_plan()))
    assert len(violations) == 1


def test_dangling_after_is_ignored_for_other_checks() -> None:
    # the dangling id replaces the real edge, so the run-wide preflight is no longer first
    violations = find_violations(set_after("fe1/pre", "nope")(tiers_plan()))
    assert violations[0].startswith("action 'fe1/pre' is after 'nope'")
    assert any("run-gated preflight" in v for v in violations[1:])


@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_samples_are_valid(sample: str) -> None:
    plan = SAMPLES[sample]()
    assert find_violations(plan) == []
    validate(plan)


def test_validate_raises_with_the_violations() -> None:
    broken = set_after("tier1/done", "fe1/verify")(tiers_plan())
    with pytest.raises(InvariantViolation) as info:
        validate(broken)
    assert info.value.violations == find_violations(broken)
    assert info.value.exit_status == 3


def test_order_is_deterministic_and_survives_a_json_round_trip() -> None:
    broken = set_after("tier1/done", "fe1/verify")(set_after("fe2/pre")(tiers_plan()))
    first = find_violations(broken)
    assert len(first) >= 2
    doc = json.loads(broken.to_json())
    assert find_violations(plan_from_document(doc)) == first
    assert find_violations(broken) == first


def test_unsorted_action_list_is_checked_like_a_sorted_one() -> None:
    plan = tiers_plan()
    reordered = type(plan)(**{**plan.__dict__, "actions": tuple(reversed(plan.actions))})
    assert find_violations(reordered) == []
    broken = set_after("tier1/done", "fe1/verify")(reordered)
    assert any(
        "'be1/install' on be1 is not after 'fe2/install'" in v for v in find_violations(broken)
    )
