"""Every bad inventory raises the right InputError naming the right file and line.

Each directory under ``fixtures/inventory/errors/`` is one inventory; the line that must be
reported carries a ``<-- ErrorClass`` marker (in whichever file of the case it is in).
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator import errors
from orchestrator.inventory import load_inventory

CASES = Path(__file__).parent / "fixtures" / "inventory" / "errors"
MARKER = re.compile(r"<-- (\w+)")


def _expected(case: Path) -> tuple[type[errors.InputError], str]:
    found = []
    for file in sorted(p for p in case.rglob("*") if p.is_file()):
        for number, line in enumerate(file.read_text().splitlines(), start=1):
            match = MARKER.search(line)
            if match:
                found.append((getattr(errors, match.group(1)), f"{file}:{number}"))
    assert len(found) == 1, f"{case.name}: expected exactly one marker, found {found}"
    return found[0]


@pytest.mark.parametrize("case", sorted(CASES.iterdir()), ids=lambda p: p.name)
def test_error_names_class_file_and_line(case: Path) -> None:
    error_class, where = _expected(case)
    with pytest.raises(errors.InputError) as info:
        load_inventory(case)
    assert type(info.value) is error_class, str(info.value)
    assert str(info.value).startswith(where + ":") or str(info.value).startswith(where + " "), (
        f"{info.value} does not start with {where}"
    )


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("yaml_unknown_group_key", "did you mean 'hosts'"),
        ("unknown_orchestrator_var", "did you mean 'orchestrator_cluster'"),
        ("pool_unknown_key", "did you mean 'max_out'"),
        ("pool_bad_mode", "did you mean 'all-at-once'"),
        ("cluster_preferred_not_node", "did you mean 'node-b'"),
        ("cluster_owner_not_node", "not a node of the cluster (node-a, node-b)"),
        ("cluster_one_node", "at least 2"),
        ("host_in_two_pools", "'web2' is in two pools"),
        ("system_unknown_base", "base 'SP08' is not one of base_installations (SP07)"),
        ("system_unknown_admin", "admin_host 'hac9' is not a host of the inventory"),
        ("yaml_children_cycle", "cycle"),
        ("range_reversed", "begin 10 is greater than end 01"),
        ("jinja_address", "does not evaluate templates"),
        ("pool_on_host", "set it in the group's vars"),
    ],
)
def test_error_messages_explain(case: str, words: str) -> None:
    with pytest.raises(errors.InputError) as info:
        load_inventory(CASES / case)
    assert words in str(info.value)


def test_missing_inventory(tmp_path: Path) -> None:
    with pytest.raises(errors.InputError, match="not found"):
        load_inventory(tmp_path / "nope.yml")


def test_ambiguous_group_vars(tmp_path: Path) -> None:
    (tmp_path / "hosts.yml").write_text("web:\n  hosts:\n    web1:\n")
    (tmp_path / "group_vars" / "web").mkdir(parents=True)
    (tmp_path / "group_vars" / "web" / "a.yml").write_text("x: 1\n")
    (tmp_path / "group_vars" / "web.yml").write_text("x: 2\n")
    with pytest.raises(errors.SchemaError, match="several files for 'web'"):
        load_inventory(tmp_path / "hosts.yml")


def test_inventory_script_rejected(tmp_path: Path) -> None:
    script = tmp_path / "inventory.py"
    script.write_text("#!/usr/bin/env python3\nprint('{}')\n")
    with pytest.raises(errors.SchemaError, match="dynamic inventory script"):
        load_inventory(script)


def test_vault_encrypted_inventory_rejected(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts.yml"
    hosts.write_text("$ANSIBLE_VAULT;1.1;AES256\n6162\n")
    with pytest.raises(errors.YamlSyntaxError, match="ansible-vault"):
        load_inventory(hosts)


def test_not_utf8(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts.ini"
    hosts.write_bytes(b"[web]\nweb\xff1\n")
    with pytest.raises(errors.YamlSyntaxError, match="UTF-8"):
        load_inventory(hosts)


KEYS = [
    *("mode", "max_out", "kind", "nodes", "groups", "owner", "preferred_owners"),
    *("resources", "name", "type", "admin_host", "base_installations", "units"),
    *("packages", "base", "serial", "a", "b", "EVS1"),
]
ALPHABET = "ab01:[]={}-_# ;'\"\n\t%!&*,.\\"


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(alphabet=ALPHABET, max_size=120), suffix=st.sampled_from(["", ".yml", ".ini"]))
def test_no_traceback_for_any_input(tmp_path: Path, text: str, suffix: str) -> None:
    path = tmp_path / f"hosts{suffix}"
    path.write_text(text)
    with contextlib.suppress(errors.InputError):
        load_inventory(path)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    value=st.recursive(
        st.none() | st.booleans() | st.integers(-3, 3) | st.text("ab%1-", max_size=4),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)
        ),
        max_leaves=8,
    ),
    var=st.sampled_from(
        ["orchestrator_pool", "orchestrator_cluster", "orchestrator_system", "orchestrator_fleet"]
    ),
)
def test_no_traceback_for_any_structure(tmp_path: Path, value: object, var: str) -> None:
    path = tmp_path / "hosts.json"
    doc = {"g": {"hosts": {"a": None, "b": None}, "vars": {var: value}}}
    path.write_text(json.dumps(doc))
    with contextlib.suppress(errors.InputError):
        load_inventory(path)
