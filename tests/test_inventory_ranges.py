"""Host ranges: zero padding, letters, steps, several ranges, ports, and bad ranges."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import Location, SchemaError
from orchestrator.inventory import load_inventory
from orchestrator.inventory._ranges import expand_pattern

HERE = Location("hosts", 1)


@pytest.mark.parametrize(
    ("pattern", "hosts", "port"),
    [
        ("web1", ["web1"], None),
        ("web[01:03]", ["web01", "web02", "web03"], None),
        ("web[1:3]", ["web1", "web2", "web3"], None),
        ("web[8:11]", ["web8", "web9", "web10", "web11"], None),
        (
            "ws[001:003].example.test",
            ["ws001.example.test", "ws002.example.test", "ws003.example.test"],
            None,
        ),
        ("db-[a:c]", ["db-a", "db-b", "db-c"], None),
        ("n[1:10:4]", ["n1", "n5", "n9"], None),
        ("n[a:g:3]", ["na", "nd", "ng"], None),
        ("n[:2]", ["n0", "n1", "n2"], None),
        ("r[1:2]-n[a:b]", ["r1-na", "r1-nb", "r2-na", "r2-nb"], None),
        ("192.0.2.[1:2]", ["192.0.2.1", "192.0.2.2"], None),
        ("web1:2222", ["web1"], 2222),
        ("web[1:2]:22", ["web1", "web2"], 22),
    ],
)
def test_expand(pattern: str, hosts: list[str], port: int | None) -> None:
    assert expand_pattern(pattern, HERE) == (hosts, port)


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("web[10:01]", "greater than end"),
        ("web[3:1]", "greater than end"),
        ("web[c:a]", "comes after end"),
        ("web[01:x]", "two numbers or two single letters"),
        ("web[aa:ab]", "two numbers or two single letters"),
        ("web[01:100]", "same width"),
        ("web[1:3:0]", "positive integer"),
        ("web[1:3:x]", "positive integer"),
        ("web[1:]", "no end value"),
        ("web[1]", "begin:end"),
        ("web[1:2:3:4]", "begin:end"),
        ("web[1:3", "unbalanced"),
        ("web1:3]", "unbalanced"),
        ("we b", "invalid host name"),
    ],
)
def test_bad_ranges(pattern: str, reason: str) -> None:
    with pytest.raises(SchemaError, match=reason) as info:
        expand_pattern(pattern, HERE)
    assert str(info.value).startswith("hosts:1: ")


def test_ranges_in_yaml_and_ini_agree(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text("g:\n  hosts:\n    w[08:10]:\n    x-[y:z]:\n")
    (tmp_path / "b.ini").write_text("[g]\nw[08:10]\nx-[y:z]\n")
    yaml_facts = load_inventory(tmp_path / "a.yml").facts
    ini_facts = load_inventory(tmp_path / "b.ini").facts
    assert list(yaml_facts.hosts) == ["w08", "w09", "w10", "x-y", "x-z"]
    assert yaml_facts == ini_facts


def test_range_host_vars_apply_to_every_host(tmp_path: Path) -> None:
    (tmp_path / "hosts.ini").write_text("[g]\nw[1:3] ansible_user=ops\n")
    inventory = load_inventory(tmp_path / "hosts.ini")
    assert {h.connection.user for h in inventory.facts.hosts.values()} == {"ops"}
