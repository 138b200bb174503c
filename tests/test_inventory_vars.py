"""group_vars/ and host_vars/ files, variable precedence, connection vars and secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.facts import Connection
from orchestrator.inventory import VaultValue, is_secret_var, load_inventory

FIXTURES = Path(__file__).parent / "fixtures" / "inventory"

LEVELS = [
    "inventory all",  # 1: inventory-file vars of group all
    "inventory parent",  # 2: inventory-file vars of a group ...
    "inventory child",  # 3: ... overridden by its child group's
    "group_vars all",  # 4: group_vars/all
    "group_vars parent",  # 5: group_vars/<group> ...
    "group_vars child",  # 6: ... child over parent
    "inventory host",  # 7: inventory-file host vars
    "host_vars",  # 8: host_vars/<host>
]


@pytest.fixture(scope="module")
def precedence() -> dict[str, object]:
    inventory = load_inventory(FIXTURES / "precedence" / "hosts.yml")
    return {h: dict(v) for h, v in inventory.host_vars.items()}


@pytest.mark.parametrize("level", range(1, len(LEVELS) + 1), ids=LEVELS)
def test_each_level_beats_the_levels_below(
    precedence: dict[str, dict[str, object]], level: int
) -> None:
    assert precedence["h1"][f"upto_{level}"] == LEVELS[level - 1]


def test_dicts_are_replaced_not_merged(precedence: dict[str, dict[str, object]]) -> None:
    assert precedence["h1"]["mapping"] == {"from_child": 1}


def test_ansible_group_priority_orders_groups_of_equal_depth(
    precedence: dict[str, dict[str, object]],
) -> None:
    assert precedence["h2"]["tie"] == "a_high"
    # in group_vars/ it is an ordinary variable (Ansible reads priority from inventory files only)
    assert precedence["h2"]["ansible_group_priority"] == 100
    assert "ansible_group_priority" not in precedence["h1"]


def test_group_name_breaks_remaining_ties(precedence: dict[str, dict[str, object]]) -> None:
    assert precedence["h3"]["order"] == "n_second"


@pytest.mark.parametrize(
    ("host", "form"),
    [
        ("h_noext", "no extension"),
        ("h_yaml", ".yaml"),
        ("h_json", ".json"),
        ("h_dir", "directory nested c"),
    ],
)
def test_vars_file_forms(host: str, form: str) -> None:
    inventory = load_inventory(FIXTURES / "varfiles" / "hosts.ini")
    assert inventory.host_vars[host]["form"] == form


def test_vars_directory_merges_files_and_skips_others() -> None:
    inventory = load_inventory(FIXTURES / "varfiles" / "hosts.ini")
    assert inventory.host_vars["h_dir"]["from_a"] is True
    names = {p.name for p in inventory.sources}
    assert "ignored.txt" not in names and "unused.yml" not in names
    assert {"a.yml", "b.yml", "c.yml", "noext", "yamlext.yaml", "jsonext.json"} <= names


def test_vault_and_unsafe_values() -> None:
    host_vars = load_inventory(FIXTURES / "varfiles" / "hosts.ini").host_vars["h_noext"]
    secret = host_vars["encrypted_password"]
    assert isinstance(secret, VaultValue)
    assert "6162" not in repr(secret) and str(secret) == "<vault-encrypted>"
    assert host_vars["raw_text"] == "{{ not a template }}"


def test_host_vars_are_read_only() -> None:
    inventory = load_inventory(FIXTURES / "varfiles" / "hosts.ini")
    with pytest.raises(TypeError):
        inventory.host_vars["h_dir"]["form"] = "changed"  # type: ignore[index]


CONNECTIONS = {
    "plain": ("linux", Connection("plain")),
    "addressed": ("linux", Connection("192.0.2.5", "ssh", 2222, "deploy")),
    "win": (
        "windows",
        Connection("win", "winrm", 5986, None, "ntlm", "https", cert_validation=False),
    ),
    "psrp": ("windows", Connection("psrp", "psrp")),
    "shell": ("windows", Connection("shell")),
    "cmdshell": ("windows", Connection("cmdshell")),
    "sim": ("windows", Connection("sim", "sim")),
    "forced": ("linux", Connection("forced", "winrm")),
    "legacy": ("linux", Connection("192.0.2.6", "ssh", 2200, "old")),
    "transports": ("windows", Connection("transports", "winrm", winrm_transport="kerberos,ntlm")),
    "validating": ("windows", Connection("validating", "winrm")),
    "withport": ("linux", Connection("withport", "ssh", 2200)),
}


@pytest.mark.parametrize("host", sorted(CONNECTIONS))
def test_connection_vars(host: str) -> None:
    facts = load_inventory(FIXTURES / "connection" / "hosts.yml").facts
    platform, connection = CONNECTIONS[host]
    assert facts.hosts[host].platform == platform
    assert facts.hosts[host].connection == connection


def test_secrets_stay_in_host_vars_only() -> None:
    inventory = load_inventory(FIXTURES / "secrets" / "hosts.yml")
    facts = inventory.facts
    secret_names = [k for k, v in inventory.host_vars["h1"].items() if is_secret_var(k, v)]
    assert sorted(secret_names) == sorted(
        [
            "ansible_password",
            "ansible_become_pass",
            "ansible_become_password",
            "ansible_ssh_pass",
            "ansible_winrm_password",
            "ansible_ssh_private_key_file",
            "db_passwd",
            "service_password",
            "api_token",
            "app_secret",
            "vaulted",
        ]
    )
    assert inventory.host_vars["h1"]["ansible_password"] == "S3CRET-ansible_password"
    contract = json.dumps(facts.to_contract(facts.hosts))
    for text in (repr(facts), str(facts), contract, repr(inventory)):
        assert "S3CRET" not in text
        assert "keys/" not in text
    assert facts.hosts["h1"].connection == Connection("192.0.2.7", "ssh", None, "admin")


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("ansible_password", True),
        ("ANSIBLE_SSH_PASS", True),
        ("ansible_become_pass", True),
        ("vcenter_password", True),
        ("github_token", True),
        ("client_secret", True),
        ("ldap_passwd", True),
        ("ansible_user", False),
        ("ansible_host", False),
        ("password_policy", False),
    ],
)
def test_is_secret_var(name: str, secret: bool) -> None:
    assert is_secret_var(name) is secret


def test_no_credentials_required(tmp_path: Path) -> None:
    (tmp_path / "hosts.ini").write_text("[w]\nw1 ansible_connection=winrm ansible_user=svc\n")
    facts = load_inventory(tmp_path / "hosts.ini").facts
    assert facts.hosts["w1"].connection == Connection("w1", "winrm", None, "svc")
