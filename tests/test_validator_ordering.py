"""Validator checks 2, 3, 5, 7, 8: tiers, pools, per-host order, built patches, fleet batches.

Each case is one small edit of a valid sample plan and the message it must produce."""

from __future__ import annotations

import pytest

from orchestrator.validator import find_violations
from tests.test_validator_support import (
    A,
    Edit,
    add,
    assert_reported,
    drop_edge,
    pool_rolling_plan,
    set_after,
    set_guarantee,
    set_param,
    synthetic_plan,
    tiers_plan,
)

CASES = [
    # 2. tiers
    pytest.param(
        "tiers",
        drop_edge("tier1/done", "fe2/verify"),
        "tier 2 install must come after every tier 1 install: 'be1/install' on be1 is not after "
        "'fe2/install'",
        id="tier-edge-missing-for-one-host",
    ),
    pytest.param(
        "tiers",
        set_guarantee("tiers", [["fe1", "fe2"], ["be1", "db9"]]),
        "tier 2 names unknown host 'db9'",
        id="tier-unknown-host",
    ),
    pytest.param(
        "tiers", set_guarantee("tiers", "fe1"), "guarantees.tiers must be a list", id="tiers-shape"
    ),
    # 5. per host
    pytest.param(
        "tiers",
        set_after("fe1/pre"),
        "run-gated preflight: 'fe1/install' on fe1 is not after 'pre'",
        id="run-preflight-not-first",
    ),
    pytest.param(
        "tiers",
        set_after("fe1/stop", "pre"),
        "host fe1: 'fe1/install' not after preflight 'fe1/pre'",
        id="host-preflight-not-before-install",
    ),
    pytest.param(
        "tiers",
        set_after("fe1/install", "fe1/pre"),
        "host fe1: 'fe1/install' not after stop_services 'fe1/stop'",
        id="interfering-services-still-running",
    ),
    pytest.param(
        "tiers",
        set_after("fe1/start", "fe1/stop"),
        "host fe1: start_services 'fe1/start' not after 'fe1/install'",
        id="services-restarted-before-install",
    ),
    pytest.param(
        "tiers",
        set_after("fe1/verify", "fe1/pre"),
        "host fe1: verify 'fe1/verify' not after 'fe1/install'",
        id="verify-before-install",
    ),
    # 3. pools
    pytest.param(
        "pool-all-at-once",
        drop_edge("fe2/install", "fe1/out"),
        "pool 'owa' (all-at-once) install: 'fe2/install' on fe2 is not after 'fe1/out'",
        id="all-at-once-member-still-serving",
    ),
    pytest.param(
        "pool-all-at-once",
        drop_edge("fe1/in", "fe2/reboot"),
        "pool 'owa' (all-at-once) lb_in: 'fe1/in' on fe1 is not after 'fe2/install', 'fe2/reboot'",
        id="all-at-once-back-too-early",
    ),
    pytest.param(
        "pool-all-at-once",
        set_after("fe1/install", "fe2/out"),
        "pool 'owa': 'fe1/install' on fe1 is not after an lb_out of fe1 ('fe1/out')",
        id="install-while-in-rotation",
    ),
    pytest.param(
        "pool-all-at-once",
        set_guarantee("pools.owa.mode", "sometimes"),
        "pool 'owa': unknown mode 'sometimes'",
        id="unknown-pool-mode",
    ),
    pytest.param(
        "pool-all-at-once",
        set_guarantee("pools.web", {"mode": "rolling"}),
        "pool 'web' has a guarantee but is not in facts.pools",
        id="unknown-pool",
    ),
    pytest.param(
        "pool-rolling",
        set_after("fe2/out"),
        "pool 'web' (rolling): 2 members may be out at once (max_out 1): fe1, fe2",
        id="rolling-two-out",
    ),
    pytest.param(
        "pool-rolling",
        set_after("fe1/in", "fe1/install"),
        "pool 'web': 'fe1/reboot' on fe1 is not before an lb_in of fe1 ('fe1/in')",
        id="back-in-rotation-before-reboot",
    ),
    pytest.param(
        "pool-rolling",
        set_param("fe2/in", "pool", "other"),
        "pool 'web': 'fe2/install' on fe2 is not before an lb_in of fe2 (there is none)",
        id="lb-in-for-another-pool",
    ),
    pytest.param(
        "pool-rolling",
        set_guarantee("pools.web.max_out", 0),
        "pool 'web': max_out must be a positive integer, not 0",
        id="bad-max-out",
    ),
    # 7. S4
    pytest.param(
        "s4",
        set_after("h1/install"),
        "'h1/install' on h1 installs 'sample.msp' but is not after 'build/patch'",
        id="patch-applied-before-built",
    ),
    pytest.param(
        "s4",
        add(A("h2/install", "install", "h1", "build/pcp", package="sample.msp")),
        "'h2/install' on h1 installs 'sample.msp' but is not after 'build/patch'",
        id="second-install-too-early",
    ),
    # 8. fleets
    pytest.param(
        "fleet",
        drop_edge("batch1/done", "ws2/install"),
        "fleet 'clients' batch 2 install must come after every fleet 'clients' batch 1 install: "
        "'ws3/install' on ws3 is not after 'ws2/install'",
        id="batch-edge-missing",
    ),
    pytest.param(
        "fleet",
        set_guarantee("fleets.clients.batches", None),
        "guarantees.fleets['clients'].batches must be a list",
        id="batches-shape",
    ),
]


@pytest.mark.parametrize(("sample", "edit", "expected"), CASES)
def test_broken_plan_is_reported(sample: str, edit: Edit, expected: str) -> None:
    assert_reported(sample, edit, expected)


def test_rolling_max_out_two_allows_two_but_not_three() -> None:
    two = set_after("fe2/out")(pool_rolling_plan(max_out=2))
    assert find_violations(two) == []  # fe1 may overlap fe2 or fe3; fe2 ends before fe3
    three = set_after("fe3/out")(two)
    (msg,) = find_violations(three)
    assert msg.startswith("pool 'web' (rolling): 3 members may be out at once (max_out 2)")


def test_product_services_are_not_interfering_services() -> None:
    # only services stopped because they disturb installers must bracket the install
    product = set_param("fe1/stop", "purpose", "product")(tiers_plan())
    assert find_violations(set_after("fe1/install", "fe1/pre")(product)) == []


def test_many_missing_tier_edges_are_counted_not_all_listed() -> None:
    broken = set_after("tier0/done", "pre")(synthetic_plan(200, tiers=2, chain=6))
    violations = find_violations(broken)
    assert len(violations) == 11
    assert violations[-1].endswith("90 more actions are not ordered likewise")
