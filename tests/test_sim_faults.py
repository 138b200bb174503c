"""Injected faults (every kind) and fault-file errors, which name the file and the line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from orchestrator.engine._retry import check_exit
from orchestrator.errors import (
    FatalError,
    FaultSpecError,
    HostUnreachable,
    StepTimeout,
    TransientError,
)
from orchestrator.plan import Plan
from orchestrator.sim import Lab, load_faults
from tests.test_sim_support import (
    ROOT,
    StepClock,
    act,
    open_lab,
    plan_of,
    quiet,
    run_in_order,
    until,
)

EX = "exchange2003-sp2"
SP = "exclu1/node-c/install"


def lab_with(
    tmp_path: Path, text: str, plan: Plan | None = None, clock: StepClock | None = None
) -> Lab:
    plan = plan or plan_of(EX)
    path = tmp_path / "faults.yml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return open_lab(tmp_path, plan, clock, load_faults(path, plan))


def test_example_fault_file_1618_twice_then_success(tmp_path: Path) -> None:
    plan = plan_of(EX)
    spec = load_faults(ROOT / "examples" / "faults" / "exchange2003-node-c-1618.yml", plan)
    lab = quiet(open_lab(tmp_path, plan, faults=spec), plan, "node-c")
    kb = act(plan, "exclu1/node-c/install/kb831464")
    driver = lab.driver()
    for _ in range(2):
        with pytest.raises(TransientError) as info:
            driver.apply(kb, 1e9)
        assert info.value.exit_code == 1618
    assert not driver.probe(kb)
    assert driver.apply(kb, 1e9).exit_code == 0
    assert driver.probe(kb)
    assert driver.apply(act(plan, SP), 1e9).exit_code == 3010  # normal again


@pytest.mark.parametrize(
    ("codes", "extra", "error", "words"),
    [
        ("[1603]", "", FatalError, "Fatal error during installation"),
        ("[1603]", "files_in_use: true", TransientError, "FileInUse:: Added to Filelist: C:"),
        ("[1642]", "", FatalError, ""),
    ],
)
def test_installer_failures(
    tmp_path: Path, codes: str, extra: str, error: type[Exception], words: str
) -> None:
    text = f"faults:\n  - host: node-c\n    action: '{SP}'\n    exit_codes: {codes}\n"
    lab = quiet(
        lab_with(tmp_path, text + (f"    {extra}\n" if extra else "")), plan_of(EX), "node-c"
    )
    before = len(lab.log())
    driver, sp = lab.driver(), act(plan_of(EX), SP)
    with pytest.raises(error) as info:  # the engine judges the exit code and the log
        check_exit(sp, driver.apply(sp, 1e9))
    exc = info.value
    assert isinstance(exc, TransientError | FatalError) and exc.exit_code == int(codes[1:-1])
    assert words in exc.output
    assert not driver.probe(sp) and len(lab.log()) == before
    driver.apply(sp, 1e9)  # the codes are used up: normal again
    assert driver.probe(sp)


def test_injected_3010_sets_pending_reboot(tmp_path: Path) -> None:
    plan = plan_of("contactpro-hotfix-install")
    text = "faults:\n  - {host: ws001, action: install, exit_codes: [3010]}\n"
    lab = lab_with(tmp_path, text, plan)
    run_in_order(lab, until(plan, "workstations/ws001/uninstall"))
    result = lab.driver().apply(act(plan, "workstations/ws001/install"), 1e9)
    assert result.exit_code == 3010 and result.data == {"reboot_required": True}
    assert lab.snapshot()["hosts"]["ws001"]["pending_reboot"] is True


def test_unreachable_for_n_calls_then_answers(tmp_path: Path) -> None:
    lab = lab_with(tmp_path, "faults:\n  - host: fe2\n    unreachable: 2\n")
    plan = plan_of(EX)
    lb_out = act(plan, "owa/fe2/lb_out")
    assert lab.live_facts(plan.facts)["unreachable"] == ["fe2"]
    with pytest.raises(HostUnreachable, match="connection refused"):
        lab.driver().probe(lb_out)
    assert lab.live_facts(plan.facts)["unreachable"] == []
    assert lab.driver().probe(lb_out) is False


def test_unreachable_forever(tmp_path: Path) -> None:
    lab = lab_with(tmp_path, "faults:\n  - {host: fe2, action: lb_out, unreachable: true}\n")
    lb_out = act(plan_of(EX), "owa/fe2/lb_out")
    for _ in range(3):
        with pytest.raises(HostUnreachable):
            lab.driver().apply(lb_out, 60)
    assert lab.driver().probe(act(plan_of(EX), "owa/fe2/lb_in")) is True  # other actions answer


def test_transient_then_success(tmp_path: Path) -> None:
    lab = lab_with(tmp_path, "faults:\n  - {host: be1, action: install, transient: 2}\n")
    quiet(lab, plan_of(EX), "be1")
    install = act(plan_of(EX), "be1/install")
    for _ in range(2):
        with pytest.raises(TransientError, match="connection reset by peer"):
            lab.driver().apply(install, 1e9)
    assert lab.driver().probe(install) is False
    lab.driver().apply(install, 1e9)
    assert lab.driver().probe(install)


def test_slow_reboot_takes_factor_times_longer_and_can_time_out(tmp_path: Path) -> None:
    clock = StepClock()
    text = "faults:\n  - {host: node-b, action: reboot, reboot: slow, factor: 4}\n"
    lab = lab_with(tmp_path, text, clock=clock)
    reboot = act(plan_of(EX), "exclu1/node-b/reboot/kb831464")
    with pytest.raises(StepTimeout):
        lab.driver().apply(reboot, 900)
    assert clock.t == pytest.approx(1_800_000_900.0)
    assert lab.snapshot()["hosts"]["node-b"]["boot_count"] == 0
    start = clock.t
    lab.driver().apply(reboot, 1e9)
    assert clock.t - start == 4 * reboot.estimate_s
    assert lab.snapshot()["hosts"]["node-b"]["boot_count"] == 1


def test_failed_reboot_leaves_the_host_down(tmp_path: Path) -> None:
    plan = plan_of(EX)
    lab = lab_with(tmp_path, "faults:\n  - {host: fe1, reboot: fail}\n", clock=StepClock())
    driver = lab.driver()
    driver.apply(act(plan, "owa/fe1/lb_out"), 60)
    with pytest.raises(StepTimeout):
        driver.apply(act(plan, "owa/fe1/reboot"), 600)
    assert lab.snapshot()["hosts"]["fe1"]["down"] is True
    assert lab.live_facts(plan.facts)["unreachable"] == ["fe1"]
    with pytest.raises(HostUnreachable):
        driver.probe(act(plan, "owa/fe1/verify/version"))
    with pytest.raises(FatalError, match="down"):
        driver.apply(act(plan, "owa/fe1/lb_in"), 60)
    assert lab.log()[-1].summary == "rebooted and never came back"


def test_fail_raises_the_message(tmp_path: Path) -> None:
    text = """\
        faults:
          - host: node-b
            action: exclu1/node-b/move/*
            fail: "group EVS2 failed to move"
        """
    lab = lab_with(tmp_path, text)
    with pytest.raises(FatalError, match="group EVS2 failed to move"):
        lab.driver().apply(act(plan_of(EX), "exclu1/node-b/move/EVS2"), 1e9)
    assert lab.live_facts(plan_of(EX).facts)["clusters"]["exclu1"]["groups"]["EVS2"] == {
        "owner": "node-b"
    }


def test_timeout_has_no_effect_and_releases_the_installer(tmp_path: Path) -> None:
    lab = quiet(open_lab(tmp_path, plan_of(EX)), plan_of(EX), "be1")
    install = act(plan_of(EX), "be1/install")
    with pytest.raises(StepTimeout):
        lab.driver().apply(install, install.estimate_s - 1)
    assert not lab.driver().probe(install)
    lab.driver().apply(install, 1e9)
    assert lab.driver().probe(install)


BAD = [
    ("faults:\n  - host: node-x\n    exit_codes: [1]\n", 2, "unknown host 'node-x' (did you mean"),
    ("faults:\n  - host: fe1\n    action: move_group\n    fail: x\n", 3, "no action of host fe1"),
    ("faults:\n  - host: fe1\n    transient: 1\n    fail: x\n", 2, "exactly one effect"),
    ("faults:\n  - host: fe1\n", 2, "found none"),
    ("faults:\n  - host: fe1\n    exit_code: [1]\n", 3, "did you mean 'exit_codes'"),
    ("faults:\n  - host: fe1\n    reboot: sometimes\n", 3, "'slow' or 'fail'"),
    ("faults:\n  - host: fe1\n    exit_codes: [1618]\n    files_in_use: true\n", 4, "needs 1603"),
    ("faults:\n  - host: fe1\n    transient: 0\n", 3, "positive integer"),
    ("faults:\n  - host: fe1\n    unreachable: false\n", 3, "true or a positive"),
    ("faults:\n  - host: fe1\n    reboot: fail\n    factor: 2\n", 4, "'factor'"),
    ("faults:\n  - host: fe1\n    fail: x\n    factor: 2\n", 4, "does not go with"),
    ("faults:\n  - host: fe1\n    exit_codes: []\n", 3, "non-empty list"),
    (
        "faults:\n  - host: fe1\n    action: lb_out\n    exit_codes: [1]\n",
        4,
        "install and uninstall",
    ),
    ("faults:\n  - 3\n", 2, "must be a mapping"),
    ("fault:\n  - host: fe1\n", 1, "'faults' list"),
    ("faults: {}\n", 1, "must be a list"),
    ("faults:\n  - host: fe1\n  whatever: 1\n", 3, "YAML"),
    ("faults: []\nextra: 1\n", 2, "unknown key 'extra'"),
]


@pytest.mark.parametrize(("text", "line", "words"), BAD)
def test_fault_file_errors_name_file_and_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = tmp_path / "f.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FaultSpecError) as info:
        load_faults(path, plan_of(EX))
    assert str(info.value.where) == f"{path}:{line}" or str(info.value.where).startswith(
        f"{path}:{line}:"
    )
    assert words in info.value.message


def test_fault_counters_are_keyed_by_entry(tmp_path: Path) -> None:
    text = "faults:\n  - {host: fe1, action: 'owa/fe1/*', transient: 1}\n"
    path = tmp_path / "f.yml"
    path.write_text(text, encoding="utf-8")
    spec = load_faults(path, plan_of(EX))
    (fault,) = spec.faults
    assert fault.key == "0:fe1:owa/fe1/*:transient" and fault.count == 1
    assert "owa/fe1/install" in fault.action_ids and "preflight/fe1/backup" not in fault.action_ids
