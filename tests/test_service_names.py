"""Service names are checked where they enter: every hostile string and every path-like
name in a playbook's services, interfering services or a check's ``params.services`` is
refused by ``validate`` and ``plan`` (exit 2) at the file and line where it was written,
before any plan exists; ``patch upgrade --service`` refuses them before anything runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from orchestrator.cli import main
from orchestrator.service_names import LINUX_SERVICE_NAME, SERVICE_NAME, service_name_problem
from tests.hostile import HOSTILE, canaries

#: Names that make a path or an option of a service manager's argument.
PATH_NAMES = (
    "../../x",
    "/bin/sh",
    "-x",
    ".hidden",
    "..",
    ".",
    "../../tmp/x/evil.sh",
    "a/../../b",
    "x\\..\\y",
    "--help",
    "-",
    "name with space",
    "a" * 256,
)
CORPUS = (*HOSTILE, *canaries("/tmp/orch-canary"), *PATH_NAMES)

INVENTORY = """\
all:
  hosts:
    lx1:
      ansible_host: 127.0.0.2
      orchestrator_platform: linux
    win1:
      ansible_host: 127.0.0.3
      orchestrator_platform: windows
"""


def yaml_str(text: str) -> str:
    """``text`` as a YAML double-quoted scalar (every non-printable character escaped)."""
    out = []
    for c in text:
        if c in '"\\':
            out.append("\\" + c)
        elif " " <= c <= "~":
            out.append(c)
        elif ord(c) > 0xFFFF:
            out.append(f"\\U{ord(c):08x}")
        else:
            out.append(f"\\u{ord(c):04x}")
    return '"' + "".join(out) + '"'


def playbook(where: str, name: str) -> tuple[str, int]:
    """A playbook with ``name`` in ``where``, and the line the name is on."""
    head = "name: t\npackage:\n  name: p\n  kind: msi\n  source: x.msi\ntargets: [lx1]\n"
    if where == "check":
        body = "verify:\n  - check: services-running\n    params:\n      services:\n"
        return head + body + "        - ok\n        - " + yaml_str(name) + "\n", 12
    return head + f"{where}:\n  - cron\n  - {yaml_str(name)}\n", 9


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    return code, capsys.readouterr().err


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    path = tmp_path / "hosts.yml"
    path.write_text(INVENTORY)
    return path


def test_no_string_of_the_corpus_is_a_linux_service_name() -> None:
    for name in CORPUS:
        assert service_name_problem(name, "linux"), repr(name)
    for name in ("cron", "ssh.service", "getty@tty1.service", "sys-fs-fuse-connections.mount"):
        assert service_name_problem(name, "linux") is None
    for name in ("MSSQL$SQLEXPRESS", "Windows Update", "W3SVC"):
        assert service_name_problem(name, "windows") is None
    for name in ("a/b", "a\\b", "-x", ".x", "", " x", "x\n"):
        assert service_name_problem(name, "windows"), repr(name)


@pytest.mark.parametrize("where", ["interfering_services", "services", "check"])
def test_validate_and_plan_refuse_every_hostile_name_at_its_line(
    where: str, tmp_path: Path, inventory: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pb = tmp_path / "pb.yml"
    for name in CORPUS:
        text, line = playbook(where, name)
        pb.write_text(text)
        for command in ("validate", "plan"):
            code, err = run([command, str(pb), "-i", str(inventory)], capsys)
            assert code == 2, (name, err)
            assert f"{pb}:{line}:" in err, (name, err)
            assert "service" in err and "Traceback" not in err


def test_a_good_playbook_still_plans(
    tmp_path: Path, inventory: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pb = tmp_path / "pb.yml"
    pb.write_text(playbook("interfering_services", "getty@tty1.service")[0])
    code, err = run(["validate", str(pb), "-i", str(inventory)], capsys)
    assert code == 0, err


def test_windows_names_pass_on_windows_hosts_only(
    tmp_path: Path, inventory: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pb = tmp_path / "pb.yml"
    text = playbook("services", "MSSQL$SQLEXPRESS")[0].replace("[lx1]", "[win1]")
    pb.write_text(text)
    assert run(["validate", str(pb), "-i", str(inventory)], capsys)[0] == 0
    pb.write_text(text.replace("[win1]", "[win1, lx1]"))
    code, err = run(["validate", str(pb), "-i", str(inventory)], capsys)
    assert code == 2 and f"{pb}:9:" in err and "linux host lx1" in err, err


def test_the_json_schema_pattern_is_the_rule() -> None:
    """The checked-in JSON Schema carries the same pattern (editors refuse the same names)."""
    for name in CORPUS:
        if re.fullmatch(SERVICE_NAME, name):
            assert not re.fullmatch(LINUX_SERVICE_NAME, name), repr(name)
