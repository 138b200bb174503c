"""One controller session: take the lease, open the journal and the driver, check the plan
is not stale, run the engine, write the report. Shared by ``apply`` and ``resume``."""

from __future__ import annotations

import functools
import signal
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from ..errors import InputError, JournalError, StalePlanError
from ..plan import Plan
from ..timespec import parse_time
from ._artefacts import final_run, report_path, write_report
from ._budget import BudgetLimits
from ._clock import RealClock, ScaledClock
from ._engine import Engine, EngineOptions, RunResult
from ._journal import Journal
from ._lease import Holder, Lease, LocalLease, default_lease_path, plan_keys
from ._observers import Fanout, JsonlLog
from ._protocols import Clock, Driver, Observer
from ._report import build_report, render_report
from ._retry import RetryPolicy
from ._staleness import facts_changes

#: Exit status of a run that stopped at a safe point and can be resumed.
EXIT_PAUSED = 75


@dataclass(frozen=True)
class SessionOptions:
    """How to run a plan. Stored with the run (JSON) so that ``resume`` runs it the same way."""

    inventory: str | None = None
    sim: bool = False
    lab: str | None = None
    faults: str | None = None
    time_scale: float = 0.0005
    forks: int = 10
    window: tuple[float, float] | None = None
    max_failures: int | None = None
    max_failed_hosts: int | None = None
    max_percent: float | None = None

    def budget_overrides(self) -> dict[str, Any]:
        """The failure budget limits given on the command line (None: the plan's)."""
        return {
            "max_failures": self.max_failures,
            "max_failed_hosts": self.max_failed_hosts,
            "max_percent": self.max_percent,
        }

    def to_json(self) -> dict[str, Any]:
        """The options as stored in the journal."""
        return {
            "inventory": self.inventory,
            "sim": self.sim,
            "lab": self.lab,
            "faults": self.faults,
            "time_scale": self.time_scale,
            "forks": self.forks,
            "window": list(self.window) if self.window else None,
            "max_failures": self.max_failures,
            "max_failed_hosts": self.max_failed_hosts,
            "max_percent": self.max_percent,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> SessionOptions:
        """Options read back from the journal."""
        window = raw.get("window")
        return cls(
            inventory=raw.get("inventory"),
            sim=bool(raw.get("sim")),
            lab=raw.get("lab"),
            faults=raw.get("faults"),
            time_scale=float(raw.get("time_scale", 0.0005)),
            forks=int(raw.get("forks", 10)),
            window=(float(window[0]), float(window[1])) if window else None,
            max_failures=raw.get("max_failures"),
            max_failed_hosts=raw.get("max_failed_hosts"),
            max_percent=raw.get("max_percent"),
        )


def plan_window(plan: Plan) -> tuple[float, float] | None:
    """The plan's maintenance window as plan-time (epoch seconds) bounds, if it has one."""
    raw = plan.extra.get("window")
    if not isinstance(raw, Mapping) or not raw.get("start") or not raw.get("end"):
        return None
    return parse_time(str(raw["start"])).timestamp(), parse_time(str(raw["end"])).timestamp()


def run_dir(journal: Journal) -> Path:
    """Where a journal keeps per-run files (event logs, reports, simulated labs)."""
    path = journal.path.parent / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def make_clock(opts: SessionOptions, start: float | None) -> Clock:
    """Scaled plan time for rehearsals (from ``start``), wall time otherwise."""
    if opts.sim:  # frozen until the engine starts: start-up costs no plan time
        begin = start if start is not None else RealClock().now()
        return ScaledClock(begin, opts.time_scale, frozen=True)
    return RealClock()


class Resources:
    """What a session holds open (driver, lab); closed together."""

    def __init__(self, driver: Driver, lab: Any = None) -> None:
        self.driver = driver
        self.lab = lab

    def timeline(self) -> Mapping[str, Any] | None:
        """The simulated lab's availability timeline, when rehearsing."""
        return self.lab.timeline() if self.lab is not None else None

    def close(self) -> None:
        """Close the driver and the lab."""
        self.driver.close()
        if self.lab is not None:
            self.lab.close()


def _kinds(plan: Plan) -> set[str]:
    return {
        str(h.get("connection", {}).get("kind", "?")) for h in plan.facts.get("hosts", {}).values()
    }


def check_connections(plan: Plan, opts: SessionOptions) -> None:
    """Refuse, before anything is written, hosts that cannot be reached as asked: a real run
    needs every host on WinRM or SSH; ``sim`` hosts run only on the simulated lab."""
    if opts.sim:
        return
    from ..transports._connect import SUPPORTED

    kinds = _kinds(plan)
    if kinds == {"sim"}:
        return
    odd = sorted(kinds - SUPPORTED)
    if odd:
        raise InputError(
            f"the hosts use connection(s) {', '.join(odd)}, which a real run cannot use "
            "(winrm and ssh can); rehearse with --sim, or fix the inventory"
        )
    _host_vars_checked(plan, opts)


@functools.lru_cache(maxsize=4)
def _inventory_host_vars(path: str) -> Mapping[str, Mapping[str, Any]]:
    """The inventory's host variables, read once per session (checked, then used)."""
    from ..inventory import load_inventory

    return load_inventory(Path(path)).host_vars


def _host_vars_checked(plan: Plan, opts: SessionOptions) -> Mapping[str, Mapping[str, Any]]:
    """The inventory's host variables (credentials), once every host's settings are safe."""
    from ..transports._connect import check_hosts

    if opts.inventory is None:
        raise InputError("a real run needs the inventory (for the credentials)")
    host_vars = _inventory_host_vars(opts.inventory)
    check_hosts(plan.facts, host_vars)
    return host_vars


def load_fault_file(plan: Plan, opts: SessionOptions) -> Any:
    """The simulated lab's fault spec, if the run has a fault file (bad files: exit 2)."""
    if not opts.faults:
        return None
    from ..sim import load_faults

    return load_faults(Path(opts.faults), plan)


def open_driver(plan: Plan, opts: SessionOptions, clock: Clock, faults: Any = None) -> Resources:
    """The driver for this run: the simulated lab (all hosts in a rehearsal, or hosts whose
    inventory connection is ``sim``)."""
    check_connections(plan, opts)
    if not opts.sim and _kinds(plan) != {"sim"}:
        return Resources(_transport_driver(plan, opts))
    from ..sim import Lab

    if opts.lab is None:
        raise InputError("a simulated lab needs a lab file")
    lab = Lab.open(Path(opts.lab), plan, clock, faults)
    return Resources(lab.driver(), lab)


def _transport_driver(plan: Plan, opts: SessionOptions) -> Driver:
    """The driver over WinRM and SSH, with credentials from the inventory or environment."""
    from ..transports._connect import transport_factory
    from ..transports._driver import TransportDriver

    host_vars = _host_vars_checked(plan, opts)
    scope = str(plan.to_document()["fingerprint"]).removeprefix("sha256:")[:16]
    return TransportDriver(plan.facts, transport_factory(plan.facts, host_vars), scope=scope)


def check_live_facts(plan: Plan, driver: Driver) -> None:
    """Refuse a plan whose facts no longer hold on the hosts."""
    changes = facts_changes(plan.facts, driver.live_facts(plan.facts), "live")
    if changes:
        raise StalePlanError(
            changes,
            advice="the hosts no longer match the facts the plan was made from: update the "
            "inventory (or put the hosts back as they were), plan again and review it",
        )


@contextmanager
def graceful_stop(stop: threading.Event) -> Iterator[None]:
    """First Ctrl-C (or SIGTERM): stop at a safe point. Second: the default, immediate."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()
        for s, h in previous.items():
            signal.signal(s, h)

    for s in previous:
        signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def execute(
    plan: Plan,
    run_id: str,
    journal: Journal,
    resources: Resources,
    clock: Clock,
    opts: SessionOptions,
    lease: Lease,
    observers: list[Observer],
    resumed: bool,
) -> tuple[RunResult, dict[str, Any], str]:
    """Run the engine under the lease; return its result and the report (JSON and text)."""
    execution = plan.extra.get("execution", {})
    limits = BudgetLimits.resolve(execution.get("failure_budget", {}), opts.budget_overrides())
    options = EngineOptions(
        forks=opts.forks,
        window=opts.window or plan_window(plan),
        max_failures=limits.max_failures,
        max_failed_hosts=limits.max_failed_hosts,
        max_percent=limits.max_percent,
        policy=RetryPolicy.from_plan(execution),
        timeouts={k: float(v) for k, v in execution.get("timeouts", {}).items()},
    )
    events = JsonlLog(run_dir(journal) / f"{run_id}.events.jsonl")
    if resumed:  # a live view shows what earlier sessions of the run finished
        states = {aid: rec.state for aid, rec in journal.actions(run_id).items()}
        for obs in observers:
            preload = getattr(obs, "preload", None)
            if preload is not None:
                preload(states)
    observer = Fanout([events, *observers])
    stop = threading.Event()
    made: list[dict[str, Any]] = []

    def finalize(status: str, summary: Mapping[str, Any], at: float) -> None:
        """The report, written (atomically) before the run's final status is journaled."""
        run = final_run(journal.run(run_id), status, summary, at)
        report = build_report(
            plan, run, journal.actions(run_id), journal.attempts(run_id), resources.timeline()
        )
        path = report_path(journal, run_id)
        try:
            write_report(path, report)
        except OSError as exc:
            raise JournalError(f"report {path}: {exc.strerror or exc}") from exc
        made.append(report)

    lease.start_heartbeat()
    if isinstance(clock, ScaledClock):
        clock.unfreeze()
    try:
        with graceful_stop(stop):
            engine = Engine(
                plan, run_id, journal, resources.driver, clock, observer, options,
                stop=stop, halt=lease.lost, finalize=finalize, lease_valid=lease.valid,
            )  # fmt: skip
            result = engine.run(resumed=resumed)
    finally:
        events.close()
    return result, made[-1], render_report(made[-1])


def exit_status(result: RunResult) -> int:
    """0 when done, 1 when something failed, :data:`EXIT_PAUSED` when it can be resumed."""
    return {"done": 0, "failed": 1}.get(result.status, EXIT_PAUSED)


def new_lease(plan: Plan, opts: SessionOptions) -> LocalLease:
    """The lease on what this run touches: its hosts (by name and address), clusters and
    pools, or, for a rehearsal, its simulated lab file; in the controller's one store."""
    if opts.sim:
        keys = [f"lab:{Path(opts.lab or '').resolve()}"]
    else:
        hosts = {a.host for a in plan.actions if a.host}
        clusters = {a.cluster for a in plan.actions if a.cluster}
        keys = plan_keys(plan.facts, hosts, clusters)
        keys = keys or [f"plan:{plan.to_document()['fingerprint']}"]
    return LocalLease(default_lease_path(), keys, Holder.me())
