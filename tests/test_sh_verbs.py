"""The sh verb library for Linux hosts: every rendered script is valid sh, hostile values
reach the verb byte for byte without anything else running, Windows-only kinds are refused
at render time, and the verbs do the real thing against a temp dir, a fake ``systemctl``,
a held lock, a load-balancer hook and stand-in package commands."""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.plan import Action
from orchestrator.transports import _frame
from orchestrator.transports._interp_sh import SH_INTERPRETER
from orchestrator.verbs import STEPS
from orchestrator.verbs.sh._library import (
    SH_CHECKS,
    SH_KINDS,
    SH_LIBRARY,
    render_sh,
    render_sh_file_facts,
    sh_args,
    sh_script,
)
from tests.hostile import HOSTILE, canaries, golden_actions


def act(kind: str, host: str | None = "web1", **params: Any) -> Action:
    return Action(f"t/{kind}/{params.get('check', '')}", kind, host, None, params, (), 60)


def linux_actions(tmp: Path) -> list[Action]:
    """One action per Linux kind and check, with realistic params."""
    return [
        act("preflight", check="disk-space", path="/", min_free_mb=1, gate="run"),
        act("preflight", check="no-installer-running", gate="host"),
        act("preflight", None, check="acknowledged", statement="release notes read", gate="run"),
        act("preflight", check="backup", marker=str(tmp / "backup.done"), max_age_hours=24),
        act("verify", check="services-running", services=["web.service", "db.service"]),
        act("verify", check="version", expect="1.2", version_command="echo 1.2.3"),
        act("verify", check="version", expect="1.2", package="no-such-package"),
        act("stop_services", services=["web.service", "snmp.service"], purpose="interfering"),
        act("start_services", services=["web.service", "snmp.service"], purpose="interfering"),
        act("lb_out", pool="webpool", lb_hook=str(tmp / "lb-hook")),
        act("lb_in", pool="webpool", lb_hook=str(tmp / "lb-hook")),
        act("install", package="app", version="2.0", package_kind="deb", source="/srv/app.deb"),
        act("install", package="app", version="2.0", command="true", reboot_codes=[3010]),
        act("uninstall", package="app-old", product_code="{GUID}"),
        act("reboot", reason="after the install", when="if-required"),
        act("preserve_files", files=[str(tmp / "a.conf")]),
        act("restore_files", files=[str(tmp / "a.conf")]),
        act("hook", stage="post", name="notify", run="echo done"),
    ]


def run(script: str, env: dict[str, str], payload: Path) -> tuple[int, str, str, dict[str, Any]]:
    """Run one request's script the way the interpreter does (fresh sh, payload file)."""
    payload.write_text("")
    proc = subprocess.run(
        ["/bin/sh", "-c", script],
        env={**os.environ, **env, "ORCH_PAYLOAD": str(payload)},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=30,
    )
    text = payload.read_text()
    return proc.returncode, proc.stdout, proc.stderr, json.loads(text) if text.strip() else {}


class Host:
    """A Linux host in a temp dir: state dir, payload file, fake tools on PATH."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.bin = tmp / "bin"
        self.bin.mkdir()
        self.units = tmp / "units"
        self.units.mkdir()
        self.env = {
            "ORCH_STATE_DIR": str(tmp / "state"),
            "PATH": f"{self.bin}:{os.environ['PATH']}",
            "FAKE_SYSTEMCTL_DIR": str(tmp),
            "ORCH_SERVICE_ROOT": str(tmp),  # systemd "runs": tmp/run/systemd/system exists
        }
        (tmp / "run/systemd/system").mkdir(parents=True)

    def verb(self, action: Action, step: str) -> tuple[int, str, dict[str, Any]]:
        rc, _, err, payload = run(sh_script(action, step), self.env, self.tmp / "payload")
        return rc, err, payload

    def ok(self, action: Action, step: str) -> dict[str, Any]:
        rc, err, payload = self.verb(action, step)
        assert rc == 0, err
        return payload


FAKE_SYSTEMCTL = r"""#!/bin/sh
d=$FAKE_SYSTEMCTL_DIR
printf '%s\n' "$*" >>"$d/systemctl.calls"
cmd=$1
shift
while [ $# -gt 0 ]; do
  case $1 in --) shift; break ;; -p) shift 2 ;; -*) shift ;; *) break ;; esac
done
unit=$1
if [ ! -e "$d/units/$unit" ]; then
  [ "$cmd" = show ] && { echo LoadState=not-found; exit 0; }
  exit 5
fi
case $cmd in
  show) echo LoadState=loaded ;;
  is-active) [ "$(cat "$d/units/$unit")" = active ] ;;
  start) echo active >"$d/units/$unit" ;;
  stop) echo inactive >"$d/units/$unit"
    for dep in $(cat "$d/units/$unit.deps" 2>/dev/null); do echo inactive >"$d/units/$dep"; done ;;
  list-dependencies) echo "$unit"
    for dep in $(cat "$d/units/$unit.deps" 2>/dev/null); do echo "  $dep"; done ;;
  *) exit 1 ;;
esac
"""


@pytest.fixture
def host(tmp_path: Path) -> Iterator[Host]:
    h = Host(tmp_path)
    tool = h.bin / "systemctl"
    tool.write_text(FAKE_SYSTEMCTL)
    tool.chmod(0o755)
    yield h


def test_every_rendered_script_is_valid_sh(tmp_path: Path) -> None:
    scripts = [sh_script(a, step) for a in linux_actions(tmp_path) for step in STEPS]
    for i, script in enumerate(scripts):
        path = tmp_path / f"s{i}.sh"
        path.write_text(script)
        proc = subprocess.run(["/bin/sh", "-n", str(path)], capture_output=True, text=True)
        assert proc.returncode == 0, (script[-300:], proc.stderr)


def test_the_library_covers_every_linux_kind_and_check() -> None:
    for kind in SH_KINDS:
        for step in STEPS:
            assert f"\norch_{kind}_{step}()" in SH_LIBRARY, (kind, step)
    for check in SH_CHECKS:
        assert f"\n    {check})" in SH_LIBRARY, check


def test_windows_only_kinds_and_checks_are_refused_at_render_time() -> None:
    refused = 0
    for action in golden_actions():
        windows_only = action.kind not in SH_KINDS or (
            action.kind in ("preflight", "verify") and action.params["check"] not in SH_CHECKS
        )
        if action.kind == "install":
            windows_only = True  # msi, msp, exe, service packs: no command given
        if windows_only:
            with pytest.raises(ValueError, match=r"Windows|never reaches"):
                render_sh(action, "apply")
            refused += 1
        else:
            assert render_sh(action, "apply").startswith("orch_verb ")
    assert refused > 10
    with pytest.raises(ValueError, match="step"):
        render_sh(act("hook", name="x", run="true"), "undo")
    with pytest.raises(ValueError, match="cannot be passed"):
        render_sh(act("hook", name="x", run="true", **{"Bad-Key": 1}), "apply")


def _string_params(action: Action) -> list[str]:
    return [k for k, v in action.params.items() if isinstance(v, str | list) and k != "check"]


def test_hostile_values_reach_the_verb_byte_for_byte(tmp_path: Path) -> None:
    canary = tmp_path / "pwned"
    corpus = (*HOSTILE, *canaries(str(canary)))
    stub = 'orch_verb() { printf \'%s\\0\' "$#" "$@"; }\n'
    cases = 0
    for action in linux_actions(tmp_path):
        calls, expected = [], []
        for key in _string_params(action):
            for value in corpus:
                if key == "command" and not value:
                    continue  # no command at all: refused at render time (tested above)
                new = value if isinstance(action.params[key], str) else [value, "plain"]
                hostile = dataclasses.replace(action, params={**action.params, key: new})
                words = sh_args(hostile, "apply")
                assert f"{key}={value}" in words
                calls.append(render_sh(hostile, "apply"))
                expected.append(words)
        script = tmp_path / "calls.sh"
        script.write_text(stub + "".join(calls))
        proc = subprocess.run(
            ["/bin/sh", str(script)], capture_output=True, cwd=tmp_path, check=True
        )
        fields = proc.stdout.split(b"\0")
        got, i = [], 0
        while i < len(fields) - 1:
            count = int(fields[i])
            got.append([f.decode() for f in fields[i + 1 : i + 1 + count]])
            i += 1 + count
        assert got == expected
        assert proc.stderr == b""
        cases += len(calls)
    assert not canary.exists(), "a hostile value was executed"
    assert not (tmp_path / "orch-pwned").exists()
    assert cases > 2000


def test_file_facts_for_a_list_of_paths(host: Host) -> None:
    (host.tmp / "a").write_bytes(b"hello\n")
    odd = host.tmp / "it's $(odd)\nname"
    odd.write_bytes(b"")
    paths = [str(host.tmp / "a"), str(odd), str(host.tmp / "missing")]
    rc, _, _, payload = run(SH_LIBRARY + render_sh_file_facts(paths), host.env, host.tmp / "p")
    assert rc == 0
    a, b, missing = payload["files"]
    assert a["path"] == paths[0] and a["exists"] and a["size"] == 6
    assert a["sha256"] == "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
    assert abs(a["mtime"] - time.time()) < 60
    assert b["path"] == paths[1] and b["size"] == 0
    assert missing == {"path": paths[2], "exists": False}


def test_services_stop_and_start_with_dependents(host: Host) -> None:
    (host.units / "web.service").write_text("active\n")
    (host.units / "web.service.deps").write_text("app.service\n")
    (host.units / "app.service").write_text("active\n")
    (host.units / "snmp.service").write_text("inactive\n")  # stopped before the run
    services = ["web.service", "snmp.service", "ghost.service"]
    stop = act("stop_services", services=services, purpose="interfering")
    start = act("start_services", services=services, purpose="interfering")
    assert host.ok(stop, "probe")["in_effect"] is False
    applied = host.ok(stop, "apply")
    assert applied["exit_code"] == 0
    assert "skipped (not installed): ghost.service" in applied["output"]
    assert applied["skipped"] == ["ghost.service"]
    assert [s["name"] for s in applied["stopped"]] == ["web.service"]
    assert applied["stopped"][0]["dependents"] == ["app.service"]
    assert (host.units / "web.service").read_text() == "inactive\n"
    assert (host.units / "app.service").read_text() == "inactive\n"
    assert host.ok(stop, "probe")["in_effect"] is True
    assert host.ok(stop, "verify")["ok"] is True
    assert host.ok(start, "probe")["in_effect"] is False
    assert host.ok(start, "apply")["exit_code"] == 0
    assert (host.units / "web.service").read_text() == "active\n"
    assert (host.units / "app.service").read_text() == "active\n", "the dependent came back"
    assert (host.units / "snmp.service").read_text() == "inactive\n", "left as it was found"
    message = "all running; skipped (not installed): ghost.service"
    assert host.ok(start, "verify") == {"ok": True, "message": message}
    product = act("start_services", services=["ghost.service"], purpose="product")
    rc, err, _ = host.verb(product, "apply")
    assert rc == 1 and "ghost.service does not exist" in err
    check = act("verify", check="services-running", services=["web.service", "snmp.service"])
    assert host.ok(check, "verify")["ok"] is False
    rc, err, _ = host.verb(check, "apply")
    assert rc == 1 and "check 'services-running' failed: not running: snmp.service" in err


def test_preserve_and_restore_files(host: Host) -> None:
    conf = host.tmp / "Local.map"
    conf.write_text("custom\n")
    preserve = act("preserve_files", files=[str(conf)])
    restore = act("restore_files", files=[str(conf)])
    assert host.ok(preserve, "probe")["in_effect"] is False
    rc, err, _ = host.verb(restore, "apply")
    assert rc == 1 and "no saved copy" in err
    host.ok(preserve, "apply")
    assert host.ok(preserve, "verify")["ok"] is True
    conf.write_text("standard from the installer\n")
    assert host.ok(restore, "probe")["in_effect"] is False
    restored = host.ok(restore, "apply")
    assert conf.read_text() == "custom\n"
    assert restored["files"][0]["path"] == str(conf) and restored["files"][0]["size"] == 7
    assert host.ok(restore, "verify")["ok"] is True


def test_a_hook_runs_once_and_its_probe_remembers(host: Host) -> None:
    out = host.tmp / "hook.out"
    hook = act("hook", stage="post", name="notify", run=f'echo "ran $((1 + 1))" | tee {out}')
    assert host.ok(hook, "probe")["in_effect"] is False
    applied = host.ok(hook, "apply")
    assert (applied["exit_code"], applied["output"]) == (0, "ran 2\n")
    assert host.ok(hook, "probe")["in_effect"] is True
    failing = act("hook", stage="post", name="bad", run="echo nope; exit 7")
    failing = dataclasses.replace(failing, id="t/hook/bad")
    assert host.ok(failing, "apply")["exit_code"] == 7
    assert host.ok(failing, "verify")["ok"] is False


def test_host_checks(host: Host) -> None:
    assert host.ok(act("preflight", check="disk-space", path="/", min_free_mb=1), "verify")["ok"]
    big = act("preflight", check="disk-space", path="/", min_free_mb=10**12)
    rc, err, _ = host.verb(big, "apply")
    assert rc == 1 and "MB needed" in err
    ack = act("preflight", None, check="acknowledged", statement="notes read")
    assert host.ok(ack, "apply")["output"] == "acknowledged: notes read"
    version = act("verify", check="version", expect="1.2", version_command="echo 1.2.7")
    assert host.ok(version, "verify")["ok"] is True
    wrong = act("verify", check="version", expect="1.3", version_command="echo 1.2.7")
    assert host.ok(wrong, "verify") == {
        "ok": False,
        "message": "version_command reports 1.2.7, expected 1.3",
    }
    marker = host.tmp / "backup.done"
    backup = act("preflight", check="backup", marker=str(marker), max_age_hours=24)
    assert host.ok(backup, "verify")["ok"] is False
    marker.write_text("")
    assert host.ok(backup, "verify")["ok"] is True
    old = time.time() - 48 * 3600
    os.utime(marker, (old, old))
    assert "48 h old" in host.ok(backup, "verify")["message"]


def test_no_installer_running_sees_a_held_dpkg_style_lock(host: Host) -> None:
    lock = host.tmp / "lock-frontend"
    lock.write_text("")
    check = act("preflight", check="no-installer-running", locks=[str(lock)])
    assert host.ok(check, "verify")["ok"] is True
    with lock.open("w") as f:
        fcntl.lockf(f, fcntl.LOCK_EX)  # what dpkg does (fcntl F_SETLK)
        result = host.ok(check, "verify")
    assert result == {"ok": False, "message": f"an installer holds {lock}"}


def test_load_balancer_hook(host: Host) -> None:
    state = host.tmp / "rotation"
    state.write_text("in\n")
    hook = host.tmp / "lb-hook"
    hook.write_text(
        f"#!/bin/sh\ncase $1 in status) cat {state} ;;\n"
        f'  *) echo "$1" >{state}; echo "pool $2: $1" ;;\nesac\n'
    )
    hook.chmod(0o755)
    out = act("lb_out", pool="web pool", lb_hook=str(hook))
    back = act("lb_in", pool="web pool", lb_hook=str(hook))
    assert host.ok(out, "probe")["in_effect"] is False
    assert host.ok(out, "apply")["output"] == "pool web pool: out\n"
    assert host.ok(out, "verify") == {"ok": True, "message": "rotation: out"}
    assert host.ok(back, "probe")["in_effect"] is False
    host.ok(back, "apply")
    assert host.ok(back, "verify")["ok"] is True
    rc, err, _ = host.verb(act("lb_out", pool="p", lb_hook=str(host.tmp / "none")), "apply")
    assert rc == 1 and "no load-balancer hook" in err


def test_install_by_command_keeps_the_exit_code_and_reboot_codes_ask_for_a_reboot(
    host: Host,
) -> None:
    install = act(
        "install",
        package="app",
        version="2.0",
        command='echo "installing $ORCH_PACKAGE $ORCH_VERSION"; exit 100',
        reboot_codes=[100],
    )
    assert host.ok(install, "probe")["in_effect"] is False
    applied = host.ok(install, "apply")
    assert applied == {"exit_code": 100, "reboot_required": True, "output": "installing app 2.0\n"}
    assert host.ok(install, "probe")["in_effect"] is True
    reboot = act("reboot", reason="after app", when="if-required")
    assert host.ok(reboot, "probe")["in_effect"] is False, "the install asked for a reboot"
    failed = act("install", package="other", version="1", command="echo busy >&2; exit 75")
    assert host.ok(failed, "apply") == {
        "exit_code": 75,
        "reboot_required": False,
        "output": "busy\n",
    }
    assert host.ok(failed, "verify")["ok"] is False
    missing = act("uninstall", package="surely-not-installed-pkg")
    assert host.ok(missing, "probe")["in_effect"] is True
    assert host.ok(missing, "apply")["exit_code"] == 1605


def test_reboot_reports_the_boot_id_and_verify_waits_for_a_new_one(host: Host) -> None:
    boot_id = host.tmp / "boot_id"
    boot_id.write_text("aaaa\n")
    done = host.tmp / "rebooted"
    env = {**host.env, "ORCH_BOOT_ID_FILE": str(boot_id), "ORCH_REBOOT_CMD": f"touch {done}"}
    reboot = act("reboot", reason="kernel", when="always", delay_s=0)
    rc, _, _, applied = run(sh_script(reboot, "apply"), env, host.tmp / "p")
    assert rc == 0 and applied["boot_id"] == "aaaa" and applied["exit_code"] == 0
    for _ in range(100):
        if done.exists():
            break
        time.sleep(0.05)
    assert done.exists(), "the reboot command ran, detached"
    _, _, _, verified = run(sh_script(reboot, "verify"), env, host.tmp / "p")
    assert verified["ok"] is False and "not restarted yet" in verified["message"]
    boot_id.write_text("bbbb\n")
    _, _, _, verified = run(sh_script(reboot, "verify"), env, host.tmp / "p")
    assert verified["ok"] is True and verified["boot_id"] == "bbbb"


def test_the_library_refuses_unknown_kinds_and_steps(host: Host) -> None:
    for call in (
        "orch_verb 'no_such' 'apply'",
        "orch_verb 'hook' 'undo'",
        "orch_verb 'x;y' 'apply'",
    ):
        rc, _, err, _ = run(SH_LIBRARY + call, host.env, host.tmp / "p")
        assert rc == 1 and err.startswith("orchestrator: "), err


def test_a_verb_through_the_persistent_interpreter(host: Host) -> None:
    (host.tmp / "a").write_text("x")
    proc = subprocess.Popen(
        ["/bin/sh", "-c", SH_INTERPRETER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, **host.env},
    )
    assert proc.stdin is not None and proc.stdout is not None
    rid = _frame.new_id()
    script = SH_LIBRARY + render_sh_file_facts([str(host.tmp / "a")])
    proc.stdin.write(_frame.encode_request(rid, script, 30))
    proc.stdin.close()
    response = _frame.parse_response(proc.stdout.readline().decode(), rid)
    proc.wait(timeout=10)
    assert response is not None and response.exit_code == 0
    assert response.payload["files"][0]["size"] == 1
