"""Which services a compensating ``start_services`` starts: exactly those this run's stop of
the same host and purpose journaled as stopped; none, if the stop never ran; the host's own
records only when the stop's outcome is not known (an apply that failed or was cut off)."""

from __future__ import annotations

from orchestrator.engine._compensation import only_stopped, outcome_unknown
from orchestrator.engine._graph import RunGraph
from orchestrator.engine._records import AttemptRecord, StoppedService
from orchestrator.plan import Action, Plan

SERVICES = ["a", "b", "c"]


def graph() -> RunGraph:
    def act(aid: str, kind: str, host: str, purpose: str, after: tuple[str, ...]) -> Action:
        params = {"services": SERVICES, "purpose": purpose}
        return Action(aid, kind, host, None, params, after, 1, "t")

    actions = (
        act("h1/stop/i", "stop_services", "h1", "interfering", ()),
        act("h1/stop/p", "stop_services", "h1", "product", ("h1/stop/i",)),
        act("h2/stop/i", "stop_services", "h2", "interfering", ()),
        act("h1/start/p", "start_services", "h1", "product", ("h1/stop/p",)),
        act("h1/start/i", "start_services", "h1", "interfering", ("h1/start/p",)),
    )
    return RunGraph(Plan({"name": "t"}, {}, {"hosts": {}}, actions, {}, {}))


def attempt(aid: str, n: int, step: str, outcome: str) -> AttemptRecord:
    return AttemptRecord(aid, n, step, 0.0, 1.0, outcome)


def stopped(aid: str, *names: str) -> list[StoppedService]:
    return [StoppedService(aid, 1, n, "active", "enabled") for n in names]


def test_only_what_the_stop_of_the_same_host_and_purpose_stopped() -> None:
    g = graph()
    start = g.actions["h1/start/i"]
    done = {
        "h1/stop/i": [
            attempt("h1/stop/i", 1, "probe", "no"),
            attempt("h1/stop/i", 1, "apply", "ok"),
        ]
    }
    records = {
        "h1/stop/i": stopped("h1/stop/i", "c", "a"),
        "h1/stop/p": stopped("h1/stop/p", "b"),  # another purpose
        "h2/stop/i": stopped("h2/stop/i", "b"),  # another host
    }
    narrowed, why = only_stopped(start, g, records, done)
    assert narrowed is not None and narrowed.params["services"] == ["a", "c"]
    assert narrowed.params["purpose"] == "interfering" and "a, c" in why


def test_nothing_when_the_stop_never_ran_or_stopped_nothing() -> None:
    g = graph()
    start = g.actions["h1/start/i"]
    assert only_stopped(start, g, {}, {}) == (None, "this run stopped none of these services")
    skipped = {"h1/stop/i": [attempt("h1/stop/i", 1, "probe", "already")]}
    assert only_stopped(start, g, {}, skipped)[0] is None


def test_the_host_decides_when_the_stop_outcome_is_unknown() -> None:
    g = graph()
    start = g.actions["h1/start/i"]
    cases = [
        [attempt("h1/stop/i", 1, "probe", "no")],  # the controller died during the apply
        [attempt("h1/stop/i", 1, "probe", "no"), attempt("h1/stop/i", 1, "apply", "fatal")],
        [attempt("h1/stop/i", 1, "probe", "no"), attempt("h1/stop/i", 1, "apply", "timeout"),
         attempt("h1/stop/i", 2, "probe", "already")],
    ]  # fmt: skip
    for attempts in cases:
        assert outcome_unknown(attempts)
        narrowed, why = only_stopped(start, g, {}, {"h1/stop/i": attempts})
        assert narrowed is start and "not known" in why
    assert not outcome_unknown([attempt("x", 1, "probe", "fatal")])  # refused before applying


def test_a_service_named_by_its_display_name_is_started_by_its_name() -> None:
    g = graph()
    start = g.actions["h1/start/i"]
    ok = [attempt("h1/stop/i", 1, "probe", "no"), attempt("h1/stop/i", 1, "apply", "ok")]
    records = {"h1/stop/i": stopped("h1/stop/i", "b", "MPWEB")}  # listed as a display name
    narrowed, _ = only_stopped(start, g, records, {"h1/stop/i": ok})
    assert narrowed is not None and narrowed.params["services"] == ["b", "MPWEB"]
