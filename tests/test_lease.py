"""The inventory lease: one controller per inventory, stale and expired leases taken over,
loss detected by renewal and by the heartbeat."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from orchestrator.engine._lease import Holder, LocalLease, leases, pid_alive, plan_keys
from orchestrator.errors import LockHeldError

ROOT = Path(__file__).resolve().parent.parent
KEY = "host:node-a"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "leases.sqlite"


def test_acquire_list_release(path: Path) -> None:
    holder = Holder.me()
    assert (holder.pid, len(holder.token)) == (os.getpid(), 32)
    lease = LocalLease(path, KEY, holder)
    assert lease.acquire("run-1") is None
    assert lease.acquire("run-2") is None  # ours already: renewed with the new run id
    [info] = leases(path)
    assert (info.key, info.holder, info.run_id) == (KEY, holder, "run-2")
    assert info.expires_at - info.acquired_at == pytest.approx(30.0)
    lease.release()
    assert leases(path) == []
    assert lease.acquire("run-3") is None  # reopens its connection after a release
    assert [info.run_id for info in leases(path)] == ["run-3"]
    lease.close()
    assert leases(path) == []


def test_second_live_holder_is_refused(path: Path) -> None:
    first = LocalLease(path, KEY, Holder.me())
    first.acquire("run-1")
    second = LocalLease(path, KEY, Holder.me())  # same host, live pid, other token
    with pytest.raises(LockHeldError) as err:
        second.acquire("run-2")
    message = str(err.value)
    assert "run-1" in message and first.holder.hostname in message
    assert f"pid {os.getpid()}" in message and "expires in 30 s" in message
    assert "To proceed" in message
    assert err.value.exit_status == 5
    assert LocalLease(path, "host:other", Holder.me()).acquire("run-2") is None
    first.release()
    assert second.acquire("run-2") is None


def test_live_lease_of_another_host_is_refused_even_if_its_pid_is_gone(path: Path) -> None:
    other = Holder("controller-b.example", 2**22 + 12345, "f" * 32)
    LocalLease(path, KEY, other).acquire("run-b")
    with pytest.raises(LockHeldError, match=r"host controller-b\.example.*died, its lease lapses"):
        LocalLease(path, KEY, Holder.me()).acquire("run-2")


def test_expired_lease_is_taken_over_and_the_loser_notices(path: Path) -> None:
    old = LocalLease(path, KEY, Holder.me(), ttl_s=0.05)
    old.acquire("run-1")
    time.sleep(0.1)
    new = LocalLease(path, KEY, Holder.me())
    note = new.acquire("run-2")
    assert note is not None and "expired lease of run run-1" in note
    with pytest.raises(LockHeldError, match=r"run run-2 .* took it over"):
        old.renew()
    old.release()  # not ours any more: must not delete the new holder's row
    assert [info.run_id for info in leases(path)] == ["run-2"]


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from orchestrator.engine._lease import Holder, LocalLease

    LocalLease(Path(sys.argv[1]), sys.argv[2], Holder.me(), ttl_s=600).acquire("run-dead")
    print("held", flush=True)
    time.sleep(60)
    """
)


def test_dead_process_on_this_host_is_taken_over_at_once(path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path), KEY],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "held"
    with pytest.raises(LockHeldError, match=f"pid {child.pid}"):
        LocalLease(path, KEY, Holder.me()).acquire("run-2")
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=10)  # reaped: no zombie left to look alive
    child.stdout.close()
    note = LocalLease(path, KEY, Holder.me()).acquire("run-2")
    assert note is not None
    assert f"stale lease of run run-dead held by {Holder.me().hostname}:{child.pid}" in note
    assert "process gone" in note


def test_renew_detects_a_removed_lease(path: Path) -> None:
    lease = LocalLease(path, KEY, Holder.me())
    lease.acquire("run-1")
    before = leases(path)[0].expires_at
    time.sleep(0.01)
    lease.renew()
    assert leases(path)[0].expires_at > before
    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM leases")
    conn.commit()
    conn.close()
    with pytest.raises(LockHeldError, match="removed"):
        lease.renew()


def test_heartbeat_keeps_the_lease_past_its_ttl(path: Path) -> None:
    lease = LocalLease(path, KEY, Holder.me(), ttl_s=0.3)
    lease.acquire("run-1")
    lease.start_heartbeat()
    time.sleep(0.9)
    with pytest.raises(LockHeldError):
        LocalLease(path, KEY, Holder.me()).acquire("run-2")
    assert not lease.lost.is_set()
    lease.release()
    assert LocalLease(path, KEY, Holder.me()).acquire("run-2") is None


def test_heartbeat_sets_lost_when_the_lease_is_taken(path: Path) -> None:
    lease = LocalLease(path, KEY, Holder.me(), ttl_s=0.3)
    lease.acquire("run-1")
    lease.start_heartbeat()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE leases SET token = 'someone-else', run_id = 'run-x'")
    conn.commit()
    conn.close()
    assert lease.lost.wait(2.0)
    lease.release()
    assert [info.run_id for info in leases(path)] == ["run-x"]


def test_pid_alive() -> None:
    assert pid_alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not pid_alive(child.pid)


# -- what a lease covers ------------------------------------------------------------------


def test_overlapping_keys_are_refused_all_or_none(path: Path) -> None:
    first = LocalLease(path, ["host:a", "host:b", "cluster:c"], Holder.me())
    first.acquire("run-1")
    second = LocalLease(path, ["host:x", "host:b"], Holder.me())  # shares host:b only
    with pytest.raises(LockHeldError) as err:
        second.acquire("run-2")
    text = str(err.value)
    assert "host:b in use by run run-1" in text and f"pid {os.getpid()}" in text
    assert " since 20" in text and "UTC" in text  # when the holder took it
    assert {i.key for i in leases(path)} == {"host:a", "host:b", "cluster:c"}  # none taken
    assert LocalLease(path, ["host:y", "host:z"], Holder.me()).acquire("run-3") is None
    first.release()
    assert second.acquire("run-2") is None


def test_renewal_notices_one_lost_key(path: Path) -> None:
    lease = LocalLease(path, ["host:a", "host:b"], Holder.me())
    lease.acquire("run-1")
    conn = sqlite3.connect(path)
    conn.execute("UPDATE leases SET token = 'other', run_id = 'run-x' WHERE key = 'host:b'")
    conn.commit()
    conn.close()
    with pytest.raises(LockHeldError, match="lost the lease on host:b: run run-x"):
        lease.renew()


def test_plan_keys_cover_names_addresses_clusters_pools_and_nodes() -> None:
    facts = {
        "hosts": {
            "FE1": {"pool": "owa", "connection": {"address": "192.0.2.11"}},
            "node-a": {"connection": {"address": "Node-A.corp.example."}},
            "node-b": {"connection": {}},
        },
        "clusters": {"exclu1": {"nodes": ["node-a", "node-b"]}},
    }
    keys = plan_keys(facts, ["FE1"], ["exclu1"])
    assert keys == sorted(
        [
            "host:fe1", "address:192.0.2.11", "pool:owa", "cluster:exclu1",
            "host:node-a", "address:node-a.corp.example", "host:node-b",
        ]
    )  # fmt: skip


def test_a_lease_of_a_run_still_starting_gives_no_resume_advice(path: Path) -> None:
    from orchestrator.engine._lease import STARTING

    LocalLease(path, ["host:a"], Holder.me()).acquire(STARTING)
    with pytest.raises(LockHeldError) as err:
        LocalLease(path, ["host:a"], Holder.me()).acquire("run-2")
    assert "a run that is starting" in str(err.value) and "resume" not in str(err.value)


def test_a_lease_past_its_expiry_is_not_valid_even_before_the_heartbeat_says_so(
    path: Path,
) -> None:
    lease = LocalLease(path, ["host:a"], Holder.me(), ttl_s=0.2)
    lease.acquire("run-1")
    assert lease.valid()
    time.sleep(0.3)  # no heartbeat: as if renewal were stuck on a locked store
    assert not lease.valid() and not lease.lost.is_set()


def test_the_engine_starts_nothing_once_its_lease_is_not_valid(tmp_path: Path) -> None:
    from orchestrator.engine._clock import ScaledClock
    from orchestrator.engine._engine import Engine, EngineOptions
    from orchestrator.engine._journal import Journal
    from orchestrator.engine._observers import Recorder
    from tests.enginekit import ScriptedDriver, example_plan

    plan = example_plan()
    journal = Journal(tmp_path / "journal.sqlite")
    clock = ScaledClock(1_800_000_000.0, 0.0)
    run_id = journal.create_run(plan.to_json(), plan, {}, clock.now())
    driver = ScriptedDriver()
    engine = Engine(
        plan, run_id, journal, driver, clock, Recorder(), EngineOptions(),
        lease_valid=lambda: False,
    )  # fmt: skip
    result = engine.run()
    assert result.status == "paused" and result.stop == "lease"
    assert driver.applied == []
