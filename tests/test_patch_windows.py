"""Patch levels on a Windows host, end to end: ``orchestrator patch check|compat|upgrade
--host web1`` and the playbook step reach ``web1`` with the real pywinrm client through the
WS-Management test server; behind it, ``tests.psmini`` runs the generated PowerShell
(``orchestrator/patchlevel/_windows_ps.py``) against an emulated Windows machine whose
``C:`` drive is a directory here. Each test compares the host's tree with a local twin that
the local toolchain handled (same package, same start), so the Windows path must give the
local verdicts and the local result, file by file, mtime by mtime."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from orchestrator.patchlevel import open_package
from orchestrator.patchlevel import upgrade as local_upgrade

from .patch_windows_fixtures import (
    INSTALL,
    KEY,
    PASSWORD,
    Web1,
    cli,
    customize,
    findings,
    hashes,
    local_args,
    ntfs,
    remote_args,
    state_dir,
)
from .psmini import Service, WindowsHost
from .test_patch_kit import DAY, T0, install_level, write

pytest_plugins = ["tests.patch_windows_fixtures"]


# -- check and compat -------------------------------------------------------------------------


def test_check_over_winrm_gives_the_local_verdicts_in_one_round_trip(
    web1: Web1, capsys: pytest.CaptureFixture[str]
) -> None:
    twin = web1.install(2)
    customize(twin)
    customize(web1.root)
    status, out, err = cli(capsys, *remote_args(web1, "check", "--format", "json"))
    assert status == 0, err
    remote = json.loads(out)
    status, out, err = cli(capsys, *local_args(web1, twin, "check", "--format", "json"))
    assert status == 0, err
    local = json.loads(out)
    assert findings(remote) == findings(local)
    assert remote["level"] == 2 and remote["level_source"] == "recorded"
    assert len(web1.scripts("Get-OrchPatchFacts -Root")) == 1
    verdicts = {f["verdict"] for f in remote["findings"]}
    assert {"customized", "earlier-version"} <= verdicts


def test_compat_over_winrm_gives_the_local_summary(
    web1: Web1, capsys: pytest.CaptureFixture[str]
) -> None:
    twin = web1.install(1)
    customize(twin)
    customize(web1.root)
    status, out, err = cli(capsys, *remote_args(web1, "compat"))
    assert status == 0, err
    remote_text = out
    status, out, _ = cli(capsys, *local_args(web1, twin, "compat"))
    local_lines = [line for line in out.splitlines() if "compatible" in line]
    assert local_lines and all(line in remote_text for line in local_lines)
    assert f"recorded in web1:{KEY}" in remote_text


def test_no_registry_value_is_a_first_run_and_a_bare_patchlevel_is_read(
    web1: Web1, capsys: pytest.CaptureFixture[str]
) -> None:
    web1.install(3, record=False)
    status, out, err = cli(capsys, *remote_args(web1, "check", "--format", "json"))
    assert status == 0, err
    doc = json.loads(out)
    assert doc["level"] == 0 and doc["level_source"] == "assumed"
    web1.host.reg_set(KEY, "PatchLevel", 3, "DWord")  # as the vendor's installer leaves it
    status, out, err = cli(capsys, *remote_args(web1, "check", "--format", "json"))
    assert status == 0, err
    doc = json.loads(out)
    assert doc["level"] == 3 and doc["level_source"] == "recorded"
    assert not [f for f in doc["findings"] if f["verdict"] == "other-level"]


def test_unreadable_file_is_reported_not_missing(
    web1: Web1, capsys: pytest.CaptureFixture[str]
) -> None:
    web1.install(2)
    web1.host.unreadable(INSTALL + "\\bin\\mpagent.exe")
    status, out, err = cli(capsys, *remote_args(web1, "check", "--format", "json"))
    assert status == 0, err
    found = {f["path"]: f for f in json.loads(out)["findings"]}
    assert found["bin/mpagent.exe"]["verdict"] == "unreadable"
    assert "used by another process" in json.dumps(found["bin/mpagent.exe"])


def test_missing_install_folder_is_bad_input(
    web1: Web1, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = cli(capsys, *remote_args(web1, "check"))
    assert status == 2 and "not a directory on web1" in err


# -- upgrade ----------------------------------------------------------------------------------


def test_upgrade_refused_while_services_run_then_done_like_the_local_one(
    web1: Web1, capsys: pytest.CaptureFixture[str]
) -> None:
    twin = web1.install(1)
    before = hashes(web1.root)
    args = remote_args(web1, "upgrade", "--to", "5", "--service", "W3SVC",
                       "--service", "MeetingPlace Web Conferencing")  # fmt: skip
    status, _, err = cli(capsys, *args)
    assert status == 7, err
    assert "W3SVC (Running)" in err and "MeetingPlace Web Conferencing (Running)" in err
    assert hashes(web1.root) == before
    assert web1.host.reg_values(KEY)["PatchLevel"] == ("DWord", 1)  # type: ignore[index]
    web1.stop_services()
    status, out, err = cli(capsys, *args)
    assert status == 0, err
    with open_package(web1.product.package) as pkg:
        local_upgrade(pkg, twin, 5)
    assert hashes(web1.root) == hashes(twin)
    values = web1.host.reg_values(KEY)
    assert values is not None
    assert values["PatchLevel"] == ("DWord", 5)
    assert values["Version"] == ("String", "4.2.7.106.5")
    assert values["Package"] == ("String", "MPWEB427_106_5.zip")
    log = (web1.root / "install.log").read_bytes().decode()
    assert "upgrade to patch level 5 done" in log and "\r\n" in log
    assert not [p for p in (web1.root / ".orchestrator").iterdir() if p.name.startswith("staging")]
    status, out, err = cli(capsys, *args)
    assert status == 0 and "5" in out, err
    assert hashes(web1.root) == hashes(twin)


def test_a_failure_mid_upgrade_rolls_back_files_mtimes_and_registry(
    web1: Web1, capsys: pytest.CaptureFixture[str]
) -> None:
    web1.install(1)
    web1.stop_services()
    before, registry = ntfs(web1.root), web1.host.reg_values(KEY)
    web1.host.fail("Replace", "login.asp")
    args = remote_args(web1, "upgrade", "--to", "5", "--service", "W3SVC")
    status, _, err = cli(capsys, *args)
    assert status == 1, err
    assert "rolled back to patch level 1" in err and "Access to the path is denied" in err
    assert ntfs(web1.root) == before
    assert web1.host.reg_values(KEY) == registry
    assert not (web1.root / "web" / "new.asp").exists()
    log = (web1.root / "install.log").read_bytes().decode()
    assert "rolled back: every file restored; patch level 1 kept" in log
    status, _, err = cli(capsys, *args)  # the fault was one-shot: now it goes through
    assert status == 0, err
    assert web1.host.reg_values(KEY)["PatchLevel"] == ("DWord", 5)  # type: ignore[index]


def test_a_failing_registry_write_rolls_back_the_files(
    web1: Web1, capsys: pytest.CaptureFixture[str]
) -> None:
    web1.install(2)
    web1.stop_services()
    before, registry = ntfs(web1.root), web1.host.reg_values(KEY)
    web1.host.fail("New-ItemProperty", "MPWEB")
    status, _, err = cli(capsys, *remote_args(web1, "upgrade", "--to", "4", "--service", "W3SVC"))
    assert status == 1, err
    assert ntfs(web1.root) == before
    assert web1.host.reg_values(KEY) == registry


def test_upgrade_on_windows_needs_the_services_named(
    web1: Web1, capsys: pytest.CaptureFixture[str]
) -> None:
    web1.install(1)
    status, _, err = cli(capsys, *remote_args(web1, "upgrade", "--to", "2"))
    assert status == 2 and "--service NAME" in err
    assert "Traceback" not in err


def test_upgrade_refuses_a_service_that_is_no_service_name_before_anything_runs(
    web1: Web1, capsys: pytest.CaptureFixture[str]
) -> None:
    web1.install(1)
    web1.stop_services()
    before, registry = ntfs(web1.root), web1.host.reg_values(KEY)
    for name in ("..\\..\\x", "C:\\Windows\\evil.exe", "a/b", "-x", ".hidden", "x\n"):
        args = remote_args(web1, "upgrade", "--to", "2", "--service", "W3SVC", f"--service={name}")
        status, _, err = cli(capsys, *args)
        assert status == 2 and f"--service {name!r}" in err and "windows host" in err, err
        assert "Traceback" not in err
    assert ntfs(web1.root) == before
    assert web1.host.reg_values(KEY) == registry
    status, _, err = cli(capsys, *remote_args(web1, "upgrade", "--to", "2", "--service", "W3SVC"))
    assert status == 0, err


def test_customizations_are_reapplied_and_breaking_ones_refused_unless_forced(
    web1: Web1, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from .test_patch_kit import make_custom

    twin = web1.install(1)
    for root in (twin, web1.root):
        write(root / "web/index.asp", b"my own index\n", T0 + 400 * DAY)
    web1.stop_services()
    base = ["--to", "5", "--service", "W3SVC"]
    status, _, err = cli(capsys, *remote_args(web1, "upgrade", *base))
    assert status == 7 and "web/index.asp" in err
    files = {5: {"web/index.asp": b"my index for level 5\n"}}
    custom = make_custom(tmp_path / "custom", files, T0 + 900 * DAY)
    status, _, err = cli(capsys, *remote_args(web1, "upgrade", *base, "--custom", str(custom)))
    assert status == 0, err
    assert (web1.root / "web/index.asp").read_bytes() == b"my index for level 5\n"
    from orchestrator.patchlevel import open_custom

    with open_package(web1.product.package) as pkg, open_custom(custom, pkg.manifest) as cpkg:
        local_upgrade(pkg, twin, 5, custom=cpkg)
    assert hashes(web1.root) == hashes(twin)


HOSTILE = "C:\\Program Files\\it's $(Get-Date) `n; & [x] \u2018q\u2019"


def test_hostile_install_path_stays_one_literal(
    web1: Web1, capsys: pytest.CaptureFixture[str]
) -> None:
    twin = web1.tmp / "twin"
    install_level(web1.product.package, twin, 1)
    shutil.copytree(twin, web1.host.path(HOSTILE), ignore=state_dir, copy_function=shutil.copy2)
    web1.stop_services()
    args = ["patch", "upgrade", str(web1.product.package), "--install", HOSTILE, "--to", "3",
            "--host", "web1", "-i", str(web1.inventory), "--service", "W3SVC"]  # fmt: skip
    status, _, err = cli(capsys, *args)
    assert status == 0, err
    with open_package(web1.product.package) as pkg:
        local_upgrade(pkg, twin, 3)
    assert hashes(web1.host.path(HOSTILE)) == hashes(twin)
    calls = [path for _, path in web1.host.calls]
    assert calls and all(p.startswith((HOSTILE, "HKLM:")) for p in calls), calls


# -- the playbook step ------------------------------------------------------------------------


class ServiceVerbs:
    """The fallback for verb calls (``Invoke-OrchVerb``): stop_services, start_services and
    the services-running verify, on the emulated machine's services (the rest of the verb
    library is not what these tests are about)."""

    def __init__(self, host: WindowsHost) -> None:
        self.host = host
        self.calls: list[tuple[str, str]] = []
        #: Services that start again on their own once stop_services has verified.
        self.restart: set[str] = set()

    def _set(self, names: list[str], status: str) -> None:
        for key, service in list(self.host.services.items()):
            if service.name in names or service.display_name in names:
                self.host.services[key] = Service(service.name, service.display_name, status)

    def _all(self, names: list[str], status: str) -> bool:
        found = [s for s in self.host.services.values() if {s.name, s.display_name} & set(names)]
        return bool(found) and all(s.status == status for s in found)

    def __call__(self, script: str, timeout: float) -> tuple[int, bytes, bytes, bytes]:
        from .wsman.sim_runner import parse_call

        call = parse_call(script)
        kind, step, params = str(call["Kind"]), str(call["Step"]), call.get("Params", {})
        self.calls.append((kind, step))
        names = [str(n) for n in params.get("services", [])]
        wanted = {"stop_services": "Stopped", "start_services": "Running"}.get(kind, "Running")
        if kind == "verify" and params.get("check") != "services-running":
            return 1, b"", f"unexpected verify {params.get('check')}".encode(), b""
        if kind not in ("stop_services", "start_services", "verify"):
            return 1, b"", f"unexpected verb {kind}".encode(), b""
        holds = self._all(names, wanted)
        if step == "probe":
            payload: dict[str, Any] = {"in_effect": holds and kind != "verify", "detail": ""}
        elif step == "verify":
            payload = {"ok": holds, "message": "" if holds else f"not {wanted}"}
            if holds and kind == "stop_services":
                self._set(sorted(self.restart), "Running")
        elif kind == "verify":
            if not holds:
                return 1, b"", b"not running: " + ", ".join(names).encode(), b""
            payload = {"exit_code": 0, "reboot_required": False, "output": "services running"}
        else:
            self._set(names, wanted)
            payload = {"exit_code": 0, "reboot_required": False, "output": kind}
        return 0, b"", b"", json.dumps(payload).encode()


def step_plan(web1: Web1, to: int, extra: str = "") -> Any:
    from orchestrator.workflow import plan_from_files

    services = "[W3SVC, MeetingPlace Web Conferencing]"
    book = web1.tmp / "patch.yml"
    book.write_text(
        f"name: web1 to patch level {to}\n"
        "package:\n  name: MPWEB427_106_5\n  kind: patch-level\n"
        f"  source: '{web1.product.package}'\n  version: '4.2.7.106.{to}'\n  level: {to}\n"
        f"  install_dir: '{INSTALL}'\n{extra}"
        "targets: [web1]\n"
        "preflight:\n  - {check: patch-consistency, gate: host}\n"
        "  - {check: patch-compatibility, gate: host}\n"
        f"services: {services}\n"
        "reboot: never\n"
        f"verify:\n  - {{check: patch-level, params: {{expect: '4.2.7.106.{to}'}}}}\n"
        f"  - {{check: services-running, params: {{services: {services}}}}}\n"
    )
    return plan_from_files(book, web1.inventory)


def run_plan(web1: Web1, plan: Any, journal_path: Path) -> dict[str, tuple[str, str]]:
    from orchestrator.engine._journal import Journal
    from orchestrator.transports._winrm import WinRMTransport

    from .enginekit import run_over_transports

    def connect(host: str) -> WinRMTransport:
        return WinRMTransport(
            host, "127.0.0.1", port=web1.server.port, scheme="http", user="orch",
            password=PASSWORD, transport="basic", allow_unencrypted=True,
        )  # fmt: skip

    return run_over_transports(plan, Journal(journal_path), connect, "patch-windows")


def test_playbook_step_on_windows_upgrades_then_finds_it_in_effect(
    web1: Web1, tmp_path: Path
) -> None:
    verbs = ServiceVerbs(web1.host)
    web1.runner.fallback = verbs
    twin = web1.install(1)
    plan = step_plan(web1, 5)
    install = next(a for a in plan.actions if a.kind == "install")
    assert install.params["services"] == ["W3SVC", "MeetingPlace Web Conferencing"]
    first = run_plan(web1, plan, tmp_path / "journal.sqlite")
    assert {s for s, _ in first.values()} == {"done"}, first
    with open_package(web1.product.package) as pkg:
        local_upgrade(pkg, twin, 5)
    assert hashes(web1.root) == hashes(twin)
    assert web1.host.reg_values(KEY)["PatchLevel"] == ("DWord", 5)  # type: ignore[index]
    assert ("stop_services", "apply") in verbs.calls and ("start_services", "apply") in verbs.calls
    assert all(s.status == "Running" for s in web1.host.services.values())
    second = run_plan(web1, plan, tmp_path / "journal.sqlite")
    assert second[install.id][0] == "skipped", second


def test_playbook_step_on_windows_refuses_while_a_service_still_runs(
    web1: Web1, tmp_path: Path
) -> None:
    """The product's service starts again by itself after stop_services (a recovery
    action): the install checks the services itself and refuses."""
    verbs = ServiceVerbs(web1.host)
    verbs.restart = {"MPWEB"}
    web1.runner.fallback = verbs
    web1.install(1)
    before = ntfs(web1.root)
    plan = step_plan(web1, 5)
    states = run_plan(web1, plan, tmp_path / "journal.sqlite")
    install = next(v for a, v in states.items() if a.endswith("/install"))
    assert install[0] == "failed" and "MeetingPlace Web Conferencing (Running)" in install[1]
    assert ntfs(web1.root) == before
    assert web1.host.reg_values(KEY)["PatchLevel"] == ("DWord", 1)  # type: ignore[index]


# -- the script itself ------------------------------------------------------------------------


def test_ps_patch_parses_and_calls_only_real_cmdlets_and_parameters() -> None:
    from orchestrator.patchlevel import _windows_ps as ps
    from orchestrator.patchlevel import _windows_ps_recover as rs

    from .test_ps_verbs import COMMON, TABLE, VERB_NOUN, commands, parse, walk

    own: dict[str, set[str]] = {}
    tree = parse(ps.PS_PATCH + rs.PS_RECOVER)
    for node in walk(tree):
        assert node.type != "ERROR" and not node.is_missing, node.text
        if node.type == "function_statement":
            name = next(c for c in node.children if c.type == "function_name").text
            params = {
                next(c for c in p.children if c.type == "variable").text.decode()[1:].lower()
                for p in walk(node)
                if p.type == "script_parameter"
            }
            own[(name or b"").decode().lower()] = params
    scripts = [
        ps.state_script(HOSTILE, KEY),
        ps.facts_script(HOSTILE, ["a/b", HOSTILE]),
        ps.services_script([HOSTILE]),
        ps.log_script(HOSTILE, [HOSTILE]),
        ps.upgrade_script(
            HOSTILE,
            HOSTILE,
            HOSTILE,
            [{"k": 0, "path": HOSTILE}],
            KEY,
            {"PatchLevel": 1},
            [HOSTILE],
            0,
            HOSTILE,
            HOSTILE,
        ),
        rs.lock_script(HOSTILE, HOSTILE),
        rs.recover_script(
            HOSTILE, HOSTILE, HOSTILE, [{"k": 0, "path": HOSTILE}], KEY, {}, 0, HOSTILE
        ),
    ]
    used = set()
    for script in scripts:
        for node in walk(parse(script)):
            assert node.type != "ERROR" and not node.is_missing, script[-300:]
        for name, params in commands(script):
            if not VERB_NOUN.match(name):
                continue
            allowed = own.get(name.lower())
            if allowed is None:
                assert name.lower() in TABLE, f"{name}: neither a PS_PATCH function nor a cmdlet"
                allowed = TABLE[name.lower()] | COMMON
                used.add(name)
            for param in params:
                assert param.lower() in allowed, f"{name} has no parameter -{param}"
    assert {"New-ItemProperty", "Remove-ItemProperty", "Get-FileHash", "Get-Service"} <= used
    assert "Get-Process" in used


def test_a_powershell_services_check_decides_on_windows(
    web1: Web1, capsys: pytest.CaptureFixture[str]
) -> None:
    web1.install(1)
    base = remote_args(web1, "upgrade", "--to", "2", "--services-running-check")
    status, _, err = cli(capsys, *base, "$global:LASTEXITCODE = 0")
    assert status == 7 and "says the services run" in err
    status, _, err = cli(capsys, *base, "$global:LASTEXITCODE = 1")
    assert status == 0, err
    assert web1.host.reg_values(KEY)["PatchLevel"] == ("DWord", 2)  # type: ignore[index]
