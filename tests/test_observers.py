"""Observers: the JSONL event log, fan-out, the recorder, plain and live progress."""

from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from orchestrator.engine._observers import Fanout, JsonlLog, PlainProgress, Recorder
from orchestrator.engine._progress import RichProgress, progress_for
from orchestrator.engine._protocols import EVENT_TYPES, Event
from orchestrator.plan import Action, Plan
from orchestrator.workflow import plan_from_files

T0 = 1795903200.0  # 2026-11-28T22:00:00Z, the golden plan's window start
WINDOW_END = T0 + 8 * 3600
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture(scope="module")
def plan() -> Plan:
    return plan_from_files(Path("playbooks/exchange2003-sp2.yml"), Path("inventory/exchange2003"))


def ev(type_: str, at: float, action: Action | None = None, **data: Any) -> Event:
    """An event with every data key of its type (missing ones None)."""
    payload = dict.fromkeys(EVENT_TYPES[type_]) | data
    if action is None:
        return Event(type_, "r1", at, data=payload)
    return Event(type_, "r1", at, action.id, action.host, payload)


def run_events(plan: Plan) -> list[Event]:
    """A realistic run: preflight and most of tier 1 done, fe2's install fails after a retry
    (its branch is put back in service), one skip, one cancel, the window closes."""
    out = [
        ev("run_started", T0, plan="sha256:x", actions=len(plan.actions), forks=8, resumed=False)
    ]
    t = T0
    for a in plan.actions:  # one at a time, so plan time only moves forward
        if a.phase == "tier-2":
            break
        out.append(ev("action_started", t, a, kind=a.kind, phase=a.phase, estimate_s=a.estimate_s))
        if a.id == "owa/fe2/install":
            err = {"error_class": "StepTimeout", "message": "install overran 90m"}
            out.append(ev("attempt_failed", t + 60, a, attempt=1, retry_in_s=15, **err))
            err = {"error_class": "FatalError", "message": "msiexec returned 1603"}
            out.append(ev("attempt_failed", t + 90, a, attempt=2, exit_code=1603, **err))
            out.append(
                ev("action_finished", t + 120, a, outcome="failed", attempts=2, duration_s=120)
            )
            t += 120
        elif a.id == "owa/fe1/reboot":
            out.append(ev("action_skipped", t, a, reason="no reboot required"))
        elif a.id == "owa/fe2/reboot":
            out.append(ev("action_cancelled", t, a, reason="its branch stopped"))
        elif a.id != "owa/fe3/install":  # that one is still running
            done = {"outcome": "done", "attempts": 1, "duration_s": a.estimate_s}
            out.append(ev("action_finished", t + a.estimate_s, a, **done))
            t += a.estimate_s
    t += 60
    undo = {"for_action": "owa/fe2/lb_out", "outcome": "done"}
    undo["message"] = "back in the load balancer"
    out.append(Event("compensation", "r1", t, "compensate/owa/fe2/lb_out", "fe2", undo))
    out.append(ev("window_closing", t + 1, reason="the window ends in 20m"))
    out.append(ev("budget_spent", t + 2, failures=1, max_failures=0))
    out.append(
        ev(
            "run_finished",
            t + 3,
            status="failed",
            done=50,
            failed=1,
            cancelled=1,
            pending=70,
            failures=1,
        )
    )
    return out


def plain(text: str) -> str:
    return ANSI.sub("", text)


def test_jsonl_lines_parse_back_and_append_across_opens(tmp_path: Path, plan: Plan) -> None:
    events = run_events(plan)
    path = tmp_path / "logs" / "run.jsonl"
    first = JsonlLog(path)
    for e in events[:10]:
        first.notify(e)
    first.close()
    first.close()  # idempotent
    second = JsonlLog(path)  # a resume continues the same log
    for e in events[10:]:
        second.notify(e)
    second.close()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(events)
    assert [json.loads(line) for line in lines] == [e.to_json() for e in events]
    assert all(": " not in line.split('"message"')[0] for line in lines)  # compact separators
    failed = json.loads(next(line for line in lines if '"attempt_failed"' in line))
    assert failed["action"] == "owa/fe2/install" and failed["host"] == "fe2"


def test_jsonl_refuses_events_after_close(tmp_path: Path) -> None:
    log = JsonlLog(tmp_path / "run.jsonl")
    log.close()
    with pytest.raises(ValueError, match="closed"):
        log.notify(Event("window_wait", "r1", T0, data={"until": T0}))


class Boom:
    calls = 0

    def notify(self, event: Event) -> None:
        self.calls += 1
        raise RuntimeError("disk full")

    def close(self) -> None:
        raise OSError("cannot close")


def test_fanout_disables_a_raising_observer_and_keeps_going(plan: Plan) -> None:
    boom, before, after = Boom(), Recorder(), Recorder()
    fan = Fanout([before, boom, after])
    events = run_events(plan)
    for e in events:
        fan.notify(e)
    assert before.events == events and after.events == events
    assert boom.calls == 1
    assert len(fan.errors) == 1
    assert "Boom" in fan.errors[0] and "disk full" in fan.errors[0]
    fan.close()  # errors on close are collected too, never raised
    assert len(fan.errors) == 2 and "cannot close" in fan.errors[1]


def test_recorder_filters_by_type(plan: Plan) -> None:
    rec = Recorder()
    for e in run_events(plan):
        rec.notify(e)
    assert [e.type for e in rec.of_type("run_started", "run_finished")] == [
        "run_started",
        "run_finished",
    ]
    assert len(rec.of_type("action_started")) == 59


def test_plain_progress_one_line_per_notable_event(plan: Plan) -> None:
    out = io.StringIO()
    progress = PlainProgress(out)
    for e in run_events(plan):
        progress.notify(e)
    lines = out.getvalue().splitlines()
    assert lines[0] == "[22:00:00] start   run r1: 130 actions, 8 forks"
    assert "[22:09:30] done    preflight/done (1 attempt, 0s)" in lines
    assert "[22:44:00] done    owa/fe1/install (fe1, 1 attempt, 30m00s)" in lines
    assert (
        "[22:49:00] retry   owa/fe2/install (fe2, attempt 1): StepTimeout: install overran 90m;"
        " again in 15s"
    ) in lines
    assert (
        "[22:50:00] FAILED  owa/fe2/install (fe2, 2 attempts, 2m00s):"
        " FatalError: msiexec returned 1603 (exit 1603)"
    ) in lines
    assert "[22:44:00] skipped owa/fe1/reboot (fe1): no reboot required" in lines
    assert "[22:50:00] cancel  owa/fe2/reboot (fe2): its branch stopped" in lines
    assert lines[-4:] == [
        "[23:07:00] undo    owa/fe2/lb_out (fe2): done - back in the load balancer",
        "[23:07:01] window  closing: the window ends in 20m",
        "[23:07:02] budget  failure budget spent: 1 failures (max 0); starting nothing new",
        "[23:07:03] finish  run r1 failed: 50 done, 1 failed, 1 cancelled, 70 pending",
    ]
    assert not any("preflight/fe1/backup" in line and "start" in line for line in lines)
    assert len(lines) == 1 + 55 + 1 + 1 + 1 + 1 + 4  # start, done, retry, failed, skip, cancel


def test_plain_progress_window_wait_uses_utc() -> None:
    out = io.StringIO()
    PlainProgress(out).notify(Event("window_wait", "r1", T0 - 3600, data={"until": T0}))
    assert out.getvalue() == "[21:00:00] wait    window opens at 22:00:00\n"


def terminal() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, force_terminal=True, width=160), buf


def test_rich_progress_shows_hosts_phases_window_and_last_events(plan: Plan) -> None:
    console, buf = terminal()
    progress = RichProgress(plan, console, WINDOW_END)
    for e in run_events(plan):
        progress.notify(e)
    text = plain(buf.getvalue())
    assert "run r1 failed" in text
    for name in ("(run)", "fe1", "fe2", "fe3", "be1", "node-a", "preflight", "tier-1", "tier-2"):
        assert name in text
    row = {line.split()[0]: line.split()[1:] for line in text.splitlines() if line.strip()}
    assert row["fe1"] == ["2/2", "12/12", "·"]  # fe1's skipped reboot counts as complete
    assert row["fe2"] == ["2/2", "10/12", "·"]  # failed install, cancelled reboot
    assert row["fe3"] == ["2/2", "11/12", "·"]  # install still running
    assert row["be1"] == ["2/2", "·", "0/10"]
    assert "1 running" in text and "1 failed" in text and "1 cancelled" in text
    assert "window left 6h52m57s" in text  # 06:00:00 - 23:07:03
    assert "elapsed 1h07m03s" in text
    assert "last events" in text
    assert "[23:07:03] finish  run r1 failed" in text
    assert "[23:07:00] undo    owa/fe2/lb_out" in text
    assert "preflight/done" not in text.split("last events")[1]  # only the last 5
    progress.close()  # idempotent after run_finished


def test_rich_progress_reads_window_end_from_run_started(plan: Plan) -> None:
    console, buf = terminal()
    progress = RichProgress(plan, console, None)
    end = "2026-11-29T06:00:00+00:00"
    progress.notify(Event("run_started", "r2", T0 + 60, data={"window_end": end, "actions": 1}))
    progress.close()
    assert "window left 7h59m00s" in plain(buf.getvalue())


def test_rich_progress_restarts_for_a_resume_in_the_same_process(plan: Plan) -> None:
    console, buf = terminal()
    progress = RichProgress(plan, console, WINDOW_END)
    for status, at in (("paused", T0 + 60), ("done", T0 + 120)):
        progress.notify(ev("run_started", at - 30, actions=131, resumed=status == "done"))
        progress.notify(ev("run_finished", at, status=status))
    text = plain(buf.getvalue())
    assert "run r1 paused" in text and "run r1 done" in text
    assert "elapsed 1m30s" in text  # plan time since the first start
    progress.close()
    drawn = len(buf.getvalue())
    progress.notify(ev("run_started", T0 + 200))  # closed for good: nothing more is drawn
    progress.close()
    assert len(buf.getvalue()) == drawn


def test_rich_progress_preload_shows_earlier_work(plan: Plan) -> None:
    console, _ = terminal()
    progress = RichProgress(plan, console, WINDOW_END)
    progress.preload({a.id: "done" for a in plan.actions if a.phase == "preflight"})
    buf = io.StringIO()
    Console(file=buf, width=160).print(progress.render())
    text = buf.getvalue()
    assert "20/130 done" in text and "110 pending" in text


def test_plain_progress_reports_a_skip_once_and_never_as_a_failure(plan: Plan) -> None:
    out = io.StringIO()
    progress = PlainProgress(out)
    a = next(a for a in plan.actions if a.kind == "reboot")
    progress.notify(ev("action_skipped", T0, a, reason="already in effect"))
    progress.notify(ev("action_finished", T0, a, outcome="skipped", attempts=1, duration_s=0))
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and "skipped" in lines[0] and "FAILED" not in out.getvalue()


def test_rich_progress_counts_a_skipped_action_as_complete(plan: Plan) -> None:
    """The engine reports a probe hit as action_skipped, then action_finished(skipped)."""
    progress = RichProgress(plan, terminal()[0], WINDOW_END)
    for a in plan.actions:
        progress.notify(ev("action_started", T0, a, kind=a.kind, phase=a.phase, estimate_s=1))
        if a.kind == "reboot":
            progress.notify(ev("action_skipped", T0, a, reason="already in effect"))
        outcome = "skipped" if a.kind == "reboot" else "done"
        progress.notify(ev("action_finished", T0, a, outcome=outcome, attempts=1, duration_s=0))
    buf = io.StringIO()
    Console(file=buf, width=160).print(progress.render())
    assert f"{len(plan.actions)}/{len(plan.actions)} done" in buf.getvalue()
    assert "failed" not in buf.getvalue().split("\n")[0] or " 0 failed" in buf.getvalue()


def big_plan(hosts: int = 2000) -> Plan:
    phases = ("preflight", "tier-1", "tier-2", "tier-3", "tier-4")
    actions = tuple(
        Action(f"{p}/web{i:04d}/install", "install", f"web{i:04d}", None, {}, (), 60, p)
        for i in range(hosts)
        for p in phases
    )
    return Plan({}, {}, {}, actions, {}, {})


def test_rich_progress_collapses_a_big_fleet_and_stays_cheap() -> None:
    plan = big_plan()
    console, buf = terminal()
    progress = RichProgress(plan, console, T0 + 3600)
    events = [Event("run_started", "big", T0, data={"actions": len(plan.actions)})]
    for k, a in enumerate(plan.actions[:4999]):
        events.append(Event("action_started", "big", T0 + k, a.id, a.host, {"phase": a.phase}))
        events.append(Event("action_finished", "big", T0 + k, a.id, a.host, {"outcome": "done"}))
    last = plan.actions[-1]  # the busiest host sits at the end of the fleet
    events.append(Event("action_started", "big", T0 + 5000, last.id, last.host, {}))
    assert len(events) == 10_000
    began = time.perf_counter()
    for e in events:
        progress.notify(e)
    spent = time.perf_counter() - began  # about 0.03 s here; deliberately not asserted
    assert spent >= 0
    progress.close()
    text = plain(buf.getvalue())
    assert "… 1975 more hosts" in text
    assert "web1999" in text and "web0000" not in text
    assert "4999/10000 done" in text and "1 running" in text
    rows = [line for line in text.splitlines() if line.strip().startswith("web")]
    assert len(rows) == 25


def test_progress_for_picks_plain_output_off_a_terminal(plan: Plan) -> None:
    assert isinstance(progress_for(plan, Console(file=io.StringIO()), None), PlainProgress)
    console, _ = terminal()
    assert isinstance(progress_for(plan, console, None), RichProgress)
