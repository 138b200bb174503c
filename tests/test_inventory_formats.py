"""YAML, INI and JSON inventories, format detection, directories and Ansible group rules."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from orchestrator.facts import Connection
from orchestrator.inventory import load_inventory

FIXTURES = Path(__file__).parent / "fixtures" / "inventory"
EXAMPLES = Path(__file__).parent.parent / "inventory"


def test_yaml_and_ini_forms_give_the_same_facts() -> None:
    from_yaml = load_inventory(FIXTURES / "equiv" / "hosts.yml").facts
    from_ini = load_inventory(FIXTURES / "equiv" / "hosts.ini").facts
    assert from_yaml == from_ini
    assert list(from_yaml.hosts) == list(from_ini.hosts)


def test_equivalent_inventory_content() -> None:
    facts = load_inventory(FIXTURES / "equiv" / "hosts.ini").facts
    assert list(facts.hosts) == ["lonely", "web01", "web02", "web03", "db-a", "db-b", "n1", "n2"]
    assert facts.hosts["db-a"].connection == Connection("db-a", "ssh", 2222, "dba")
    assert facts.hosts["web02"].connection.user == "ops"
    assert facts.hosts["web02"].roles == ("web",)
    assert facts.pools["web"].members == ("web01", "web02", "web03")
    assert (facts.pools["web"].mode, facts.pools["web"].max_out) == ("rolling", 2)
    assert facts.clusters["clu"].nodes == ("n2", "n1")
    assert facts.hosts["n1"].platform == "windows"
    assert facts.groups["ungrouped"] == ("lonely",)
    assert facts.groups["frontends"] == ("web01", "web02", "web03")


@pytest.mark.parametrize(
    "name", ["yaml_no_extension", "ini_no_extension", "hosts.json", "hosts.yaml", "hosts.ini"]
)
def test_format_detection(name: str) -> None:
    inventory = load_inventory(FIXTURES / "formats" / name)
    assert list(inventory.facts.hosts) == ["web1"]
    assert inventory.facts.groups["web"] == ("web1",)
    assert inventory.facts.hosts["web1"].connection.port == 22


def test_directory_inventory_merges_files_in_order() -> None:
    inventory = load_inventory(FIXTURES / "directory")
    facts = inventory.facts
    assert list(facts.hosts) == ["web1", "web2", "db1", "web3", "ex1"]
    assert facts.groups["web"] == ("web1", "web2", "web3")
    assert facts.groups["extra"] == ("ex1",)
    web1 = inventory.host_vars["web1"]
    assert web1["origin"] == "02-db.ini"  # the later file wins
    assert web1["only_01"] is True
    assert web1["from_group_vars"] == "web"
    db1 = inventory.host_vars["db1"]
    assert db1["layer"] == "second"  # host_vars/db1/ files merged in sorted order
    assert db1["first_only"] == 1
    base = FIXTURES / "directory"
    assert [p.relative_to(base).as_posix() for p in inventory.sources] == [
        "01-web.yml",
        "02-db.ini",
        "group_vars/web.yml",
        "host_vars/db1/10-first.yml",
        "host_vars/db1/20-second.yaml",
        "host_vars/db1/30-vault",
        "sub/03-extra.yml",
    ]


def test_directory_and_file_share_group_vars() -> None:
    by_dir = load_inventory(EXAMPLES / "exchange55")
    by_file = load_inventory(EXAMPLES / "exchange55" / "hosts.ini")
    assert by_dir.facts == by_file.facts
    assert by_dir.sha256 == by_file.sha256


def test_empty_directory(tmp_path: Path) -> None:
    facts = load_inventory(tmp_path).facts
    assert dict(facts.hosts) == {}
    assert facts.groups == {"all": (), "ungrouped": ()}


def test_implicit_groups_and_membership() -> None:
    facts = load_inventory(FIXTURES / "topology" / "hosts.yml").facts
    assert set(facts.groups) >= {"all", "ungrouped", "lb", "lb_east", "lb_west"}
    assert facts.groups["all"] == tuple(facts.hosts)
    assert facts.groups["lb"] == ("e1", "e2", "w1")
    assert facts.groups["lb_west"] == ("e1", "e2", "w1")
    assert facts.hosts["e1"].groups == ("all", "lb", "lb_east", "lb_west")
    assert facts.groups["ungrouped"] == ()


def test_a_host_in_several_groups_is_one_host(tmp_path: Path) -> None:
    (tmp_path / "hosts.yml").write_text(
        "a:\n  hosts:\n    h1: {x: 1, y: 1}\nb:\n  hosts:\n    h1: {y: 2}\n    h2:\n"
    )
    inventory = load_inventory(tmp_path / "hosts.yml")
    assert list(inventory.facts.hosts) == ["h1", "h2"]
    assert inventory.facts.hosts["h1"].groups == ("a", "all", "b")
    assert dict(inventory.host_vars["h1"]) == {"x": 1, "y": 2}


def test_hosts_only_in_all_are_ungrouped(tmp_path: Path) -> None:
    (tmp_path / "hosts.yml").write_text(
        "all:\n  hosts:\n    solo:\n    both:\n  children:\n    g:\n      hosts:\n        both:\n"
    )
    facts = load_inventory(tmp_path / "hosts.yml").facts
    assert facts.groups["ungrouped"] == ("solo",)
    assert facts.hosts["solo"].groups == ("all", "ungrouped")
    assert facts.hosts["both"].groups == ("all", "g")


def test_ini_inline_values_are_literals_and_group_vars_strings(tmp_path: Path) -> None:
    (tmp_path / "hosts").write_text(
        "[g]\n"
        "h1 n=5 b=True l=\"['x', 'y']\" s=\"two words\" raw=abc q='7'\n"
        "[g:vars]\n"
        "n2 = 5\n"
        'quoted="a b"\n'
    )
    host_vars = load_inventory(tmp_path / "hosts").host_vars["h1"]
    assert host_vars["n"] == 5 and host_vars["b"] is True
    assert host_vars["l"] == ["x", "y"]
    assert host_vars["s"] == "two words" and host_vars["raw"] == "abc"
    assert host_vars["q"] == 7  # shell quotes are removed first, as in Ansible
    assert host_vars["n2"] == "5" and host_vars["quoted"] == "a b"


def test_examples_load(tmp_path: Path) -> None:
    for example in sorted(EXAMPLES.iterdir()):
        files = [p for p in example.iterdir() if p.is_file()]
        assert len(files) == 1, example
        from_file = load_inventory(files[0])
        copy = tmp_path / example.name
        shutil.copytree(example, copy)
        assert load_inventory(copy).facts == from_file.facts


def test_docs_examples_load(tmp_path: Path) -> None:
    docs = (Path(__file__).parent.parent / "docs" / "inventory.md").read_text()
    blocks = re.findall(r"```(yaml|ini)\n(.*?)```", docs, re.S)
    assert len(blocks) >= 3
    for number, (kind, body) in enumerate(blocks):
        path = tmp_path / f"example{number}.{kind}"
        path.write_text(body)
        assert load_inventory(path).facts.hosts
