"""The run journal: round trips, durability across kill -9, run references, clear errors."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from orchestrator.engine._journal import Journal, default_journal_path
from orchestrator.errors import JournalError, UnknownRunError
from orchestrator.plan import Plan
from orchestrator.workflow import plan_from_files

ROOT = Path(__file__).resolve().parent.parent
AT = 1_795_276_501.0  # 2026-11-21 15:55:01 UTC


@pytest.fixture(scope="module")
def plan() -> Plan:
    return plan_from_files(
        ROOT / "playbooks" / "exchange2003-sp2.yml", ROOT / "inventory" / "exchange2003"
    )


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "state" / "journal.sqlite")


def test_create_run_stores_plan_and_pending_actions(journal: Journal, plan: Plan) -> None:
    text = plan.to_json()
    run_id = journal.create_run(text, plan, {"forks": 4, "window": None}, AT)
    assert re.fullmatch(r"[0-9a-f]{6}-\d{8}-\d{6}", run_id)  # stamped with the wall clock
    assert run_id[7:15] == time.strftime("%Y%m%d", time.gmtime(journal.run(run_id).created_wall))
    actions = journal.actions(run_id)
    assert list(actions) == [a.id for a in plan.actions]
    assert {a.state for a in actions.values()} == {"pending"}
    assert all(a.attempts == 0 and a.started_at is None for a in actions.values())
    assert journal.plan_text(run_id) == text
    run = journal.run(run_id)
    assert (run.status, run.created_at, run.updated_at) == ("running", AT, AT)
    assert run.plan_fingerprint == json.loads(text)["fingerprint"]
    assert run.playbook == "Exchange 2003 SP2"
    assert run.options == {"forks": 4, "window": None}
    assert run.summary == {}


def test_action_and_attempt_round_trip(journal: Journal, plan: Plan) -> None:
    run_id = journal.create_run(plan.to_json(), plan, {}, AT)
    first, second = plan.actions[0].id, plan.actions[1].id
    journal.start_action(run_id, first, AT + 1)
    journal.record_attempt(
        run_id, first, 1, "apply", AT + 1, AT + 2, "transient",
        exit_code=1618, output="another install is running", error_class="TransientError",
        message="msiexec 1618",
    )  # fmt: skip
    journal.start_action(run_id, first, AT + 5)
    with journal.transaction():
        journal.record_attempt(run_id, first, 2, "apply", AT + 5, AT + 6, "ok", exit_code=0)
        journal.finish_action(run_id, first, "done", AT + 6, "installed")
    journal.record_attempt(run_id, second, 1, "probe", AT + 7, AT + 7, "already")
    journal.finish_action(run_id, second, "skipped", AT + 7)

    actions = journal.actions(run_id)
    assert actions[first].state == "done"
    assert (actions[first].started_at, actions[first].ended_at) == (AT + 1, AT + 6)
    assert (actions[first].attempts, actions[first].message) == (2, "installed")
    assert (actions[second].state, actions[second].attempts) == ("skipped", 1)
    attempts = journal.attempts(run_id, first)
    assert [(a.attempt, a.step, a.outcome, a.exit_code) for a in attempts] == [
        (1, "apply", "transient", 1618),
        (2, "apply", "ok", 0),
    ]
    digest = hashlib.sha256(b"another install is running").hexdigest()
    assert attempts[0].output_digest == f"sha256:{digest}"
    assert (attempts[0].error_class, attempts[0].message) == ("TransientError", "msiexec 1618")
    assert attempts[1].output_digest == ""
    assert [a.action_id for a in journal.attempts(run_id)] == [first, first, second]
    assert journal.run(run_id).updated_at == AT + 7

    journal.finish_action(run_id, first, "pending", AT + 8)  # back to not-final: no end time
    assert journal.actions(run_id)[first].ended_at is None


def test_transaction_rolls_back_everything_on_error(journal: Journal, plan: Plan) -> None:
    run_id = journal.create_run(plan.to_json(), plan, {}, AT)
    action = plan.actions[0].id
    with pytest.raises(RuntimeError), journal.transaction():
        journal.record_attempt(run_id, action, 1, "apply", AT, AT, "ok")
        journal.finish_action(run_id, action, "done", AT)
        raise RuntimeError("boom")
    assert journal.actions(run_id)[action].state == "pending"
    assert journal.attempts(run_id) == []


def test_only_the_output_digest_is_stored(tmp_path: Path, plan: Plan) -> None:
    path = tmp_path / "journal.sqlite"
    secret = "SECRET-output-do-not-store-7f3a9c"
    with Journal(path) as journal:
        run_id = journal.create_run(plan.to_json(), plan, {}, AT)
        journal.record_attempt(run_id, plan.actions[0].id, 1, "apply", AT, AT, "ok", output=secret)
        assert journal.attempts(run_id)[0].output_digest.startswith("sha256:")
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"do-not-store" not in data
    assert hashlib.sha256(secret.encode()).hexdigest().encode() in data


def test_messages_are_capped_at_4kb(journal: Journal, plan: Plan) -> None:
    run_id = journal.create_run(plan.to_json(), plan, {}, AT)
    action = plan.actions[0].id
    journal.finish_action(run_id, action, "failed", AT, "é" * 10_000)
    journal.record_attempt(run_id, action, 1, "apply", AT, AT, "fatal", message="x" * 10_000)
    assert len(journal.actions(run_id)[action].message.encode()) <= 4096
    assert len(journal.attempts(run_id)[0].message.encode()) <= 4096


def test_bad_arguments_are_refused(journal: Journal, plan: Plan) -> None:
    run_id = journal.create_run(plan.to_json(), plan, {}, AT)
    action = plan.actions[0].id
    with pytest.raises(ValueError, match="action state"):
        journal.finish_action(run_id, action, "finished", AT)
    with pytest.raises(ValueError, match="step"):
        journal.record_attempt(run_id, action, 1, "install", AT, AT, "ok")
    with pytest.raises(ValueError, match="run status"):
        journal.set_run_status(run_id, "interrupted", AT)
    with pytest.raises(ValueError, match="no action"):
        journal.start_action(run_id, "nope", AT)
    with pytest.raises(UnknownRunError):
        journal.start_action("20990101-000000-000000", action, AT)
    for call in (journal.run, journal.actions, journal.attempts, journal.plan_text):
        with pytest.raises(UnknownRunError, match="no run"):
            call("20990101-000000-000000")


def test_compensating_actions_come_after_the_plan(journal: Journal, plan: Plan) -> None:
    run_id = journal.create_run(plan.to_json(), plan, {}, AT)
    journal.add_action(run_id, "compensate/b")
    journal.add_action(run_id, "compensate/a")
    journal.add_action(run_id, "compensate/b")  # no-op
    ids = list(journal.actions(run_id))
    assert ids == [a.id for a in plan.actions] + ["compensate/b", "compensate/a"]
    journal.start_action(run_id, "compensate/a", AT)
    assert journal.actions(run_id)["compensate/a"].state == "running"
    with pytest.raises(ValueError, match="compensating"):
        journal.add_action(run_id, "install/x")


def test_runs_newest_first_and_resolve(journal: Journal, plan: Plan) -> None:
    with pytest.raises(UnknownRunError, match="no runs yet"):
        journal.resolve("last")
    text = plan.to_json()
    old = journal.create_run(text, plan, {}, AT)
    mid = journal.create_run(text, plan, {}, AT + 3600)
    new = journal.create_run(text, plan, {}, AT + 3600)  # same second: insertion order decides
    assert [r.run_id for r in journal.runs()] == [new, mid, old]
    assert journal.resolve("last") == new
    assert journal.resolve(old) == old
    assert journal.resolve(old[:6]) == old  # six characters always name one run
    assert journal.resolve(new[:-3]) == new
    with pytest.raises(UnknownRunError, match="no run 'zz'"):
        journal.resolve("zz")
    with pytest.raises(UnknownRunError):
        journal.resolve("")


def test_ambiguous_prefix_lists_the_runs(journal: Journal, plan: Plan) -> None:
    ids = [journal.create_run(plan.to_json(), plan, {}, AT) for _ in range(40)]
    assert len({i[:6] for i in ids}) == 40  # the first six characters are unique
    first = ids[0][0]
    same = [i for i in ids if i[0] == first]
    if len(same) > 1:
        with pytest.raises(UnknownRunError, match="ambiguous") as err:
            journal.resolve(first)
        assert same[0] in str(err.value)


def test_last_is_the_newest_by_wall_clock_not_by_plan_time(journal: Journal, plan: Plan) -> None:
    """A rehearsal stamps its run with the plan's (simulated, maybe future) time; "last"
    must still be the run created last."""
    text = plan.to_json()
    rehearsal = journal.create_run(text, plan, {"sim": True}, AT + 86400 * 365)
    time.sleep(0.01)
    real = journal.create_run(text, plan, {}, AT - 86400 * 365)
    assert journal.resolve("last") == real
    assert [r.run_id for r in journal.runs()] == [real, rehearsal]


def test_a_version_1_journal_is_migrated(tmp_path: Path, plan: Plan) -> None:
    """A journal written before the budget table and the wall-clock column still opens:
    its runs keep their ids and come after new ones."""
    path = tmp_path / "v1.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(
        """CREATE TABLE runs (run_id TEXT PRIMARY KEY, created_at REAL NOT NULL,
            updated_at REAL NOT NULL, status TEXT NOT NULL, plan_fingerprint TEXT NOT NULL,
            playbook TEXT NOT NULL, options TEXT NOT NULL DEFAULT '{}',
            summary TEXT NOT NULL DEFAULT '{}');
        CREATE TABLE plans (run_id TEXT PRIMARY KEY, plan_text TEXT NOT NULL);
        CREATE TABLE actions (run_id TEXT NOT NULL, action_id TEXT NOT NULL, seq INTEGER NOT
            NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, started_at REAL,
            ended_at REAL, message TEXT NOT NULL DEFAULT '', PRIMARY KEY (run_id, action_id))
            WITHOUT ROWID;
        CREATE TABLE attempts (id INTEGER PRIMARY KEY, run_id TEXT NOT NULL, action_id TEXT NOT
            NULL, attempt INTEGER NOT NULL, step TEXT NOT NULL, started_at REAL NOT NULL,
            ended_at REAL NOT NULL, outcome TEXT NOT NULL, exit_code INTEGER,
            output_digest TEXT NOT NULL DEFAULT '', error_class TEXT NOT NULL DEFAULT '',
            message TEXT NOT NULL DEFAULT '');
        CREATE TABLE leases (key TEXT PRIMARY KEY, hostname TEXT NOT NULL, pid INTEGER NOT
            NULL, token TEXT NOT NULL, run_id TEXT NOT NULL, acquired_at REAL NOT NULL,
            expires_at REAL NOT NULL);
        INSERT INTO runs VALUES ('20261121-155501-abcdef', 1.0, 2.0, 'paused', 'sha256:x',
            'old', '{}', '{}');
        PRAGMA user_version=1;"""
    )
    conn.close()
    journal = Journal(path)
    try:
        assert journal.run("20261121-155501-abcdef").status == "paused"
        assert journal.budget("20261121-155501-abcdef") is None
        new = journal.create_run(plan.to_json(), plan, {}, AT)
        assert journal.resolve("last") == new
        journal.set_budget(new, {"spent": True})
        assert journal.budget(new) == {"spent": True}
        aid = plan.actions[0].id
        journal.record_attempt(new, aid, 1, "apply", AT, AT + 1, "ok",
                               data={"services_stopped": [_stopped("x")]})  # fmt: skip
        assert [s.service for s in journal.stopped_services(new)[aid]] == ["x"]
    finally:
        journal.close()
    version = sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0]
    assert version == 2


def test_run_status_summary_and_options(journal: Journal, plan: Plan) -> None:
    run_id = journal.create_run(plan.to_json(), plan, {"forks": 4, "budget": 2}, AT)
    journal.update_options(run_id, {"forks": 8, "resumed": 1})
    journal.set_run_status(run_id, "paused", AT + 10)
    journal.set_run_status(run_id, "done", AT + 20, {"done": 131, "failed": 0})
    run = journal.run(run_id)
    assert (run.status, run.updated_at) == ("done", AT + 20)
    assert run.options == {"forks": 8, "budget": 2, "resumed": 1}
    assert run.summary == {"done": 131, "failed": 0}


def test_reopen_keeps_everything(tmp_path: Path, plan: Plan) -> None:
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    run_id = journal.create_run(plan.to_json(), plan, {"forks": 2}, AT)
    journal.start_action(run_id, plan.actions[0].id, AT)
    journal.record_attempt(run_id, plan.actions[0].id, 1, "apply", AT, AT + 1, "ok", output="x")
    before = (journal.run(run_id), journal.actions(run_id), journal.attempts(run_id))
    reader = Journal(path)  # another connection sees committed writes while the first is open
    assert reader.actions(run_id) == before[1]
    reader.close()
    journal.close()
    with Journal(path) as again:
        assert (again.run(run_id), again.actions(run_id), again.attempts(run_id)) == before
        assert again.plan_text(run_id) == plan.to_json()


_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from orchestrator.engine._journal import Journal

    journal = Journal(Path(sys.argv[1]))
    run_id = sys.argv[2]
    i = 0
    while True:
        action = f"compensate/{i}"
        journal.add_action(run_id, action)
        journal.start_action(run_id, action, i)
        journal.record_attempt(run_id, action, 1, "compensate", i, i, "ok", output=str(i))
        journal.finish_action(run_id, action, "done", i, f"done {i}")
        print(i, flush=True)
        i += 1
    """
)


def test_sigkill_mid_sequence_keeps_every_committed_row(tmp_path: Path, plan: Plan) -> None:
    path = tmp_path / "journal.sqlite"
    with Journal(path) as journal:
        run_id = journal.create_run(plan.to_json(), plan, {}, AT)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path), run_id],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert child.stdout is not None
    committed = [int(child.stdout.readline()) for _ in range(300)]
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=10)
    child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    with Journal(path) as journal:
        actions = journal.actions(run_id)
        attempts = {a.action_id: a for a in journal.attempts(run_id)}
        for i in committed:
            record = actions[f"compensate/{i}"]
            assert (record.state, record.attempts, record.message) == ("done", 1, f"done {i}")
            assert attempts[f"compensate/{i}"].output_digest.startswith("sha256:")
        assert len(actions) >= len(plan.actions) + len(committed)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()


def test_unwritable_path_is_a_journal_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(JournalError) as err:
        Journal(blocker / "state" / "journal.sqlite")
    assert str(blocker) in str(err.value)
    assert err.value.exit_status == 6
    with pytest.raises(JournalError, match="cannot open the database file"):
        Journal(tmp_path)  # a directory


def test_non_sqlite_file_is_a_journal_error(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    path.write_bytes(b"this is a plan, not a database\n" * 200)
    with pytest.raises(JournalError, match="not an SQLite database") as err:
        Journal(path)
    assert str(path) in str(err.value)


def test_foreign_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE photos (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(JournalError, match="not an orchestrator journal"):
        Journal(path)


def test_newer_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    Journal(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version=99")
    conn.close()
    with pytest.raises(JournalError, match=r"schema version 99 .* newer orchestrator"):
        Journal(path)


def test_closed_journal_reports_a_journal_error(journal: Journal) -> None:
    journal.close()
    with pytest.raises(JournalError, match="journal"):
        journal.runs()


def test_default_journal_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ORCHESTRATOR_JOURNAL", str(tmp_path / "j.sqlite"))
    assert default_journal_path() == tmp_path / "j.sqlite"
    monkeypatch.delenv("ORCHESTRATOR_JOURNAL")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert default_journal_path() == tmp_path / "state" / "orchestrator" / "journal.sqlite"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    expected = tmp_path / ".local" / "state" / "orchestrator" / "journal.sqlite"
    assert default_journal_path() == expected


def _stopped(name: str) -> dict[str, object]:
    return {"name": name, "previous": "active", "start_mode": "enabled", "dependents": ["d"]}


def test_services_an_attempt_stopped_are_journaled_with_it(journal: Journal, plan: Plan) -> None:
    run = journal.create_run(plan.to_json(), plan, {}, AT)
    aid = plan.actions[0].id
    data = {"services_stopped": [_stopped("snmp"), _stopped("av")]}
    journal.record_attempt(run, aid, 1, "apply", AT, AT + 1, "ok", data=data)
    found = journal.stopped_services(run)[aid]
    assert [(s.service, s.previous_state, s.start_mode, s.dependents) for s in found] == [
        ("av", "active", "enabled", ("d",)),
        ("snmp", "active", "enabled", ("d",)),
    ]
    # same transaction: a record that cannot be written takes the attempt with it
    with pytest.raises(KeyError):
        journal.record_attempt(run, aid, 2, "apply", AT, AT + 1, "ok",
                               data={"services_stopped": [{"previous": "active"}]})  # fmt: skip
    assert [a.attempt for a in journal.attempts(run, aid)] == [1]
    assert journal.stopped_services(run)[aid] == found
