"""From inventory facts to transports: credentials' precedence and the refusals made before
any connection (unsafe WinRM settings without consent, no password, Windows over SSH)."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.errors import InputError
from orchestrator.transports._connect import check_hosts, password_for, transport_factory
from orchestrator.transports._ssh import SSHTransport
from orchestrator.transports._winrm import WinRMTransport


def facts(**conn: Any) -> dict[str, Any]:
    platform = conn.pop("platform", "windows")
    return {"hosts": {"web-1.corp": {"platform": platform, "connection": conn}}}


def test_password_precedence_host_env_then_global_env_then_inventory() -> None:
    own = {"ansible_password": "from-inventory"}
    env = {"ORCHESTRATOR_PASSWORD": "global", "ORCHESTRATOR_PASSWORD_WEB_1_CORP": "own"}
    assert password_for("web-1.corp", own, env) == "own"
    assert password_for("web-1.corp", own, {"ORCHESTRATOR_PASSWORD": "global"}) == "global"
    assert password_for("web-1.corp", own, {}) == "from-inventory"
    assert password_for("web-1.corp", {}, {}) is None


@pytest.mark.parametrize(
    ("conn", "message"),
    [
        ({"kind": "winrm", "winrm_scheme": "http"}, "http is refused"),
        ({"kind": "winrm", "winrm_transport": "basic"}, "Basic authentication is refused"),
    ],
)
def test_unsafe_or_unsupported_settings_are_refused_naming_the_host(
    conn: dict[str, Any], message: str
) -> None:
    with pytest.raises(InputError, match=message) as err:
        check_hosts(facts(**conn), {}, {"ORCHESTRATOR_PASSWORD": "pw"})
    assert "web-1.corp" in str(err.value)


def test_consent_allows_http_and_basic() -> None:
    ok = facts(kind="winrm", winrm_scheme="http", winrm_transport="basic", allow_unencrypted=True)
    check_hosts(ok, {}, {"ORCHESTRATOR_PASSWORD": "pw"})


def test_a_winrm_host_without_a_password_is_refused() -> None:
    with pytest.raises(InputError, match=r"no password for web-1\.corp"):
        check_hosts(facts(kind="winrm"), {}, {})


def test_the_factory_builds_the_transport_of_each_kind_without_connecting() -> None:
    env = {"ORCHESTRATOR_PASSWORD": "S3cret"}
    windows = facts(kind="winrm", address="192.0.2.1", user="CORP\\svc")
    winrm = transport_factory(windows, {}, env)("web-1.corp")
    assert isinstance(winrm, WinRMTransport) and "S3cret" not in repr(winrm)
    linux = facts(kind="ssh", address="192.0.2.2", platform="linux", user="ops")
    ssh = transport_factory(linux, {}, env)("web-1.corp")
    assert isinstance(ssh, SSHTransport) and "S3cret" not in repr(ssh)
    with pytest.raises(InputError, match="not supported"):
        transport_factory(facts(kind="psrp"), {}, env)("web-1.corp")
