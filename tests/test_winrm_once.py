"""Exactly once over WinRM: the real pywinrm client against the WS-Management test server,
whose emulated interpreter keeps the host-side record of steps as the PowerShell one does.
The server runs a step and then loses the HTTP response that carried its answer: the
transport asks the host and takes the recorded answer, never sending the step again. An
interpreter that dies in the middle of a step leaves its outcome unknown: the engine
reports it and stops that branch, and nothing is repeated."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.engine._clock import RealClock
from orchestrator.engine._engine import Engine, EngineOptions
from orchestrator.engine._journal import Journal
from orchestrator.engine._observers import Recorder
from orchestrator.engine._retry import RetryPolicy
from orchestrator.errors import OutcomeUnknown
from orchestrator.plan import Action, Plan
from orchestrator.transports._driver import TransportDriver
from orchestrator.transports._interp_ps import LIBRARY_MARKER
from orchestrator.transports._winrm import WinRMTransport
from tests.wsman import InterpreterDied, InterpreterEmulator, VocabularyRunner, WSManServer
from tests.wsman.runner import make_script
from tests.wsman.sim_runner import parse_call

PASSWORD = "s3cret-Pa55"


def _transport(server: WSManServer, host: str = "web1") -> WinRMTransport:
    return WinRMTransport(
        host, "127.0.0.1", port=server.port, scheme="http", user="orch", password=PASSWORD,
        transport="basic", allow_unencrypted=True, operation_timeout_s=1, read_timeout_s=3,
        interpreter="# the interpreter loop",
    )  # fmt: skip


@pytest.fixture
def runner() -> VocabularyRunner:
    return VocabularyRunner()


@pytest.fixture
def server(runner: VocabularyRunner) -> Iterator[WSManServer]:
    with WSManServer(InterpreterEmulator(runner), password=PASSWORD) as srv:
        yield srv


def test_a_lost_response_is_asked_about_and_not_sent_again(
    server: WSManServer, runner: VocabularyRunner
) -> None:
    with _transport(server) as t:
        assert t.run(make_script(stdout="warm"), timeout=5).stdout == "warm"
        script = make_script(stdout="ran once", sleep=0.2, exit=3)
        server.lose_answers(1)
        result = t.run(script, timeout=10, step="ab" * 16)
        assert (result.exit_code, result.stdout) == (3, "ran once")
        assert runner.scripts.count(script) == 1  # the host ran it once
        assert t.recalled == 1 and t.fallbacks == 0
        again = t.run(script, timeout=10, step="ab" * 16)  # a copy is refused by the host
        assert again.exit_code == 125 and runner.scripts.count(script) == 1
        assert t.recall("cd" * 16, timeout=5) is None  # never started (and now void)
        assert t.run(make_script(stdout="next"), timeout=5).stdout == "next"


def test_a_lost_send_response_is_asked_about_while_the_step_runs(
    server: WSManServer, runner: VocabularyRunner
) -> None:
    with _transport(server) as t:
        t.run(make_script(stdout="warm"), timeout=5)
        script = make_script(stdout="slow", sleep=1.5)
        server.drop_next(1, after_processing=True)  # the Send reaches the host, no reply
        result = t.run(script, timeout=10, step="12" * 16)
        assert result.stdout == "slow" and runner.scripts.count(script) == 1
        assert t.recalled == 1


def test_an_interpreter_dying_mid_step_is_outcome_unknown(
    server: WSManServer, runner: VocabularyRunner
) -> None:
    with _transport(server) as t:
        script = make_script(die=137)
        with pytest.raises(OutcomeUnknown):
            t.run(script, timeout=10, step="ef" * 16)
        assert runner.scripts.count(script) == 1
        with pytest.raises(OutcomeUnknown):
            t.recall("ef" * 16, timeout=5)


class HostRunner:
    """Verb calls on an emulated Windows host: hooks and services remember what ran; some
    applies lose their answer (the server drops the response), some kill the interpreter."""

    def __init__(self, server: list[WSManServer]) -> None:
        self.server = server
        self.ran: Counter[str] = Counter()
        self.done: set[str] = set()
        self.lose: set[str] = set()
        self.die: set[str] = set()

    def __call__(self, script: str, timeout: float) -> tuple[int, bytes, bytes, bytes]:
        if script.startswith(LIBRARY_MARKER):
            return 0, b"", b"", b""
        call = parse_call(script)
        aid, step = str(call["Context"]["id"]), str(call["Step"])
        payload: dict[str, Any]
        if step == "probe":
            payload = {"in_effect": aid in self.done, "detail": ""}
        elif step == "verify":
            payload = {"ok": aid in self.done, "message": ""}
        else:
            self.ran[aid] += 1
            if aid in self.die:
                raise InterpreterDied(137)  # after the hook did its work: no answer, no record
            self.done.add(aid)
            if aid in self.lose:
                self.server[0].lose_answers(1)
            payload = {"exit_code": 0, "reboot_required": False, "output": "ran"}
        return 0, b"", b"", json.dumps(payload).encode()


def _plan() -> Plan:
    def act(aid: str, kind: str, after: tuple[str, ...], **params: Any) -> Action:
        return Action(aid, kind, aid.split("/")[0], None, params, after, 1, "tier-1", aid)

    actions = (
        act("web1/hook", "hook", (), stage="post", name="a", run="Write-Output a"),
        act("web1/stop", "stop_services", ("web1/hook",), services=["W3SVC"], purpose="product"),
        act("web2/hook", "hook", (), stage="post", name="b", run="Write-Output b"),
        act("web2/after", "hook", ("web2/hook",), stage="post", name="c", run="Write-Output c"),
    )
    facts = {
        "hosts": {
            h: {"platform": "windows", "connection": {"kind": "winrm"}} for h in ("web1", "web2")
        }
    }
    return Plan({"name": "once-winrm"}, {}, facts, actions, {}, {})


def test_the_engine_over_winrm_runs_each_step_at_most_once(tmp_path: Path) -> None:
    holder: list[WSManServer] = []
    host = HostRunner(holder)
    host.lose |= {"web1/hook", "web1/stop"}  # ran, answer lost: recalled
    host.die.add("web2/hook")  # ran, interpreter died: unknown
    with WSManServer(InterpreterEmulator(host), password=PASSWORD) as server:
        holder.append(server)
        plan = _plan()
        journal = Journal(tmp_path / "journal.sqlite")
        run_id = journal.create_run(plan.to_json(), plan, {}, RealClock().now())
        driver = TransportDriver(plan.facts, lambda h: _transport(server, h), scope="s")
        options = EngineOptions(forks=2, max_failures=5, policy=RetryPolicy(2, 0.1, 0.2))
        try:
            result = Engine(plan, run_id, journal, driver, RealClock(), Recorder(), options).run()
        finally:
            driver.close()
    states = {a: r.state for a, r in journal.actions(run_id).items()}
    assert host.ran == {"web1/hook": 1, "web1/stop": 1, "web2/hook": 1}  # nothing twice
    assert states == {"web1/hook": "done", "web1/stop": "done", "web2/hook": "unknown",
                      "web2/after": "cancelled"}  # fmt: skip
    assert "answer recalled" not in journal.actions(run_id)["web1/hook"].message  # in-call
    assert result.status == "failed" and "unknown outcome" in result.reason
