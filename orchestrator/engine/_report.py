"""The run report: what was done, what was put back in service and what is left, built from
the journal's records (so it covers a whole run across crashes and resumes) and the
availability timeline of the simulated lab. Only ids, kinds, hosts, states and messages are
reported, never action parameters."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ..estimate import hms
from ..plan import Plan
from ._records import ACTION_STATES, FINAL_OK, ActionRecord, AttemptRecord, RunRecord

FORMAT = "orchestrator.report/v1"
RUN_HOST = "(run)"
COMPENSATE = "compensate/"
_LIST_CAP = 30
_HOST_ROWS = 40
_HOST_STATES = ("done", "skipped", "failed", "unknown", "cancelled", "pending")  # running: pending
_READ_ONLY = frozenset({"preflight", "verify", "barrier"})
_RAN = frozenset({"done", "failed", "unknown", "running"})
_ATTENTION = {"unknown": 0, "failed": 0, "partial": 1, "untouched": 2, "upgraded": 3}
_DEFAULT_REASON = {"pending": "not started", "running": "interrupted while running"}


def _iso(at: float) -> str:
    return datetime.fromtimestamp(round(at), UTC).isoformat()


def _span(rec: ActionRecord | None) -> float:
    if rec is None or rec.started_at is None or rec.ended_at is None:
        return 0.0
    return round(max(0.0, rec.ended_at - rec.started_at), 3)


def _last_errors(attempts: Sequence[AttemptRecord]) -> tuple[dict[str, str], dict[str, int]]:
    errors: dict[str, str] = {}
    tries: dict[str, int] = {}
    for at in sorted(attempts, key=lambda a: (a.attempt, a.started_at)):
        tries[at.action_id] = max(tries.get(at.action_id, 0), at.attempt)
        if at.outcome in ("transient", "fatal", "timeout", "unknown"):
            text = ": ".join(x for x in (at.error_class, at.message) if x) or at.outcome
            errors[at.action_id] = text
    return errors, tries


def _availability(timeline: Mapping[str, Any]) -> dict[str, Any]:
    """``{"groups"|"pools"|"hosts": {name: {"down_s", "outages", "longest_s", "open"}}}``.
    Each input entry is a mapping with ``down_s`` and/or ``outages`` (a count or a list of ``[start,
    end]`` pairs or ``{"start", "end"}`` objects; ``end`` null = still down), or such a list."""
    out: dict[str, Any] = {}
    for scope in ("groups", "pools", "hosts"):
        entries: dict[str, Any] = {}
        for name, raw in (timeline.get(scope) or {}).items():
            spans = raw.get("outages", []) if isinstance(raw, Mapping) else raw
            pairs = [
                (s.get("start"), s.get("end")) if isinstance(s, Mapping) else (s[0], s[1])
                for s in (spans if isinstance(spans, list | tuple) else [])
            ]
            lengths = [float(e) - float(b) for b, e in pairs if b is not None and e is not None]
            count = spans if isinstance(spans, int) else len(pairs)
            down = raw.get("down_s") if isinstance(raw, Mapping) else None
            entries[str(name)] = {
                "down_s": round(float(down if down is not None else sum(lengths)), 3),
                "outages": count,
                "longest_s": round(max(lengths, default=0.0), 3),
                "open": any(e is None for _, e in pairs),
            }
        out[scope] = entries
    return out


def _new_host() -> dict[str, Any]:
    return {"actions": 0, **dict.fromkeys(_HOST_STATES, 0), "attempts": 0, "duration_s": 0.0}


def _outcome(h: Mapping[str, Any], changed: bool) -> str:
    """``unknown`` (an action's outcome is unknown: check the host), ``failed`` (an action
    failed), ``upgraded`` (all done or already in effect),
    ``partial`` (something that changes the host ran) or ``untouched`` (at most read-only
    checks ran)."""
    if h["unknown"]:
        return "unknown"
    if h["failed"]:
        return "failed"
    if h["done"] + h["skipped"] == h["actions"]:
        return "upgraded"
    return "partial" if changed else "untouched"


def build_report(
    plan: Plan,
    run: RunRecord,
    actions: Mapping[str, ActionRecord],
    attempts: Sequence[AttemptRecord],
    timeline: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The ``orchestrator.report/v1`` document of ``run`` (JSON-serialisable)."""
    errors, tries = _last_errors(attempts)
    comps: dict[str, list[ActionRecord]] = defaultdict(list)  # by the action they put back
    strays: list[ActionRecord] = []  # journaled ids the plan does not know: never hidden
    known = {a.id for a in plan.actions}
    for aid, rec in actions.items():
        if aid.startswith(COMPENSATE):
            comps[aid.removeprefix(COMPENSATE)].append(rec)
        elif aid not in known:
            strays.append(rec)
    counts = dict.fromkeys(ACTION_STATES, 0)
    hosts: dict[str, dict[str, Any]] = {}
    rows: list[dict[str, Any]] = []
    done: list[str] = []
    left: list[dict[str, Any]] = []
    undone: list[dict[str, Any]] = []
    changed: set[str] = set()

    def row(aid: str, kind: str, host: str, rec: ActionRecord | None) -> dict[str, Any]:
        state = rec.state if rec else "pending"
        message = (rec.message if rec else "") or ("" if state in FINAL_OK else errors.get(aid, ""))
        n = max(rec.attempts if rec else 0, tries.get(aid, 0))
        item = {"id": aid, "kind": kind, "host": host, "state": state, "attempts": n}
        item.update(duration_s=_span(rec), message=message)
        rows.append(item)
        return item

    def sort(item: Mapping[str, Any]) -> None:
        if item["state"] in FINAL_OK:
            done.append(item["id"])
        else:
            reason = item["message"] or _DEFAULT_REASON.get(item["state"], item["state"])
            left.append({k: item[k] for k in ("id", "host", "state")} | {"reason": reason})

    def undo(item: Mapping[str, Any], orig: str) -> None:
        undone.append({k: item[k] for k in ("id", "host", "state", "message")} | {"for": orig})

    for a in plan.actions:
        host = a.host or RUN_HOST
        item = row(a.id, a.kind, host, actions.get(a.id))
        state = item["state"]
        counts[state] = counts.get(state, 0) + 1
        h = hosts.get(host) or hosts.setdefault(host, _new_host())
        h["actions"] += 1
        h["attempts"] += item["attempts"]
        if a.kind not in _READ_ONLY and (state in _RAN or item["attempts"]):
            changed.add(host)
        h["duration_s"] = round(h["duration_s"] + item["duration_s"], 3)
        h[state if state in _HOST_STATES else "pending"] += 1
        sort(item)
        for rec in comps.pop(a.id, []):
            undo(row(rec.action_id, "compensate", host, rec), a.id)
    for orig, recs in comps.items():
        for rec in recs:
            undo(row(rec.action_id, "compensate", RUN_HOST, rec), orig)
    for rec in strays:
        sort(row(rec.action_id, "unknown", RUN_HOST, rec))
    for name, h in hosts.items():
        h["outcome"] = _outcome(h, name in changed)
    starts = [r.started_at for r in actions.values() if r.started_at is not None]
    ends = [r.ended_at for r in actions.values() if r.ended_at is not None]
    started = min([run.created_at, *starts])
    ended = max([run.updated_at, *ends])
    failures = run.summary.get("failures")
    return {
        "format": FORMAT,
        "run": run.run_id,
        "status": run.status,
        "reason": str(run.summary.get("reason") or ""),
        "stop": str(run.summary.get("stop") or ""),
        "plan": {"fingerprint": run.plan_fingerprint, "playbook": run.playbook},
        "started": _iso(started),
        "ended": _iso(ended),
        "duration_s": round(ended - started, 3),
        "counts": counts,
        "failures": failures if isinstance(failures, int) else counts["failed"] + counts["unknown"],
        "hosts": hosts,
        "actions": rows,
        "done": done,
        "undone": undone,
        "left": left,
        "availability": _availability(timeline) if timeline is not None else None,
    }


def _dur(seconds: float) -> str:
    """``1h02m`` from an hour on, else ``hms`` (``38m00s``, ``5s``)."""
    s = round(seconds)
    if abs(s) >= 3600:
        h, m = divmod(abs(s) // 60, 60)
        return f"{'-' if s < 0 else ''}{h}h{m:02d}m"
    return hms(s)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    return [
        "  "
        + "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ).rstrip()
        for r in (header, *rows)
    ]


def _states(counter: Counter[str]) -> str:
    return ", ".join(f"{n} {state}" for state, n in counter.most_common())


def _by_host(items: Sequence[Mapping[str, Any]], cap: int = _LIST_CAP) -> list[str]:
    """One line per host (``host: n (states)``), at most ``cap`` lines plus a tail line."""
    groups: dict[str, Counter[str]] = defaultdict(Counter)
    for item in items:
        groups[item["host"]][item["state"]] += 1
    order = sorted(
        groups,
        key=lambda h: not (groups[h]["failed"] or groups[h]["unknown"] or groups[h]["running"]),
    )
    lines = [f"  {h}: {sum(groups[h].values())} ({_states(groups[h])})" for h in order]
    if len(lines) > cap:
        rest: Counter[str] = Counter()
        for h in order[cap:]:
            rest.update(groups[h])
        lines[cap:] = [f"  … {len(lines) - cap} more hosts: {sum(rest.values())} ({_states(rest)})"]
    return lines


def _hosts_section(hosts: Mapping[str, Mapping[str, Any]]) -> list[str]:
    names = list(hosts)
    if len(names) > _HOST_ROWS:  # show the hosts that need attention first
        names.sort(key=lambda n: _ATTENTION.get(hosts[n]["outcome"], 0))
    shown = names[:_HOST_ROWS]
    rows = []
    for n in shown:
        h = hosts[n]
        ok, took = str(h["done"] + h["skipped"]), _dur(h["duration_s"])
        rows.append([n, str(h["actions"]), ok, str(h["attempts"]), took, h["outcome"]])
    head = ["host", "actions", "done", "attempts", "duration", "outcome"]
    lines = [f"Hosts: {len(hosts)}", *_table(head, rows, {1, 2, 3, 4})]
    if len(names) > len(shown):
        rest = Counter(hosts[n]["outcome"] for n in names[len(shown) :])
        lines.append(f"  … {len(names) - len(shown)} more hosts: {_states(rest)}")
    totals = Counter(h["outcome"] for h in hosts.values())
    lines.append(f"  outcomes: {_states(totals)}" if totals else "  (no hosts)")
    return lines


def _downtime_section(availability: Mapping[str, Any] | None) -> list[str]:
    if availability is None:
        return ["Downtime: no availability timeline recorded"]
    rows = [
        (kind, name, e)
        for kind, scope in (("group", "groups"), ("pool", "pools"), ("host", "hosts"))
        for name, e in (availability.get(scope) or {}).items()
    ]
    rows.sort(key=lambda r: -float(r[2]["down_s"]))
    table = [
        [kind, name, _dur(e["down_s"]), str(e["outages"]), "STILL DOWN" if e.get("open") else ""]
        for kind, name, e in rows[:_HOST_ROWS]
    ]
    lines = [f"Downtime: {len(rows)} groups, pools and standalone servers"]
    lines += _table(["kind", "name", "downtime", "outages", ""], table, {2, 3}) if rows else []
    if len(rows) > len(table):
        lines.append(f"  … {len(rows) - len(table)} more, each down for less")
    return lines


def render_report(report: Mapping[str, Any]) -> str:
    """The human summary of a report made by :func:`build_report`."""
    counts = {k: n for k, n in report["counts"].items() if n}
    out = [
        f"Run {report['run']}: {report['status']} after {_dur(report['duration_s'])}"
        + (f" ({report['reason']})" if report.get("reason") else ""),
        f"Plan {report['plan']['fingerprint']} ({report['plan']['playbook']}),"
        f" {report['started']} to {report['ended']}",
        "Actions: "
        + (", ".join(f"{n} {s}" for s, n in counts.items()) or "none")
        + f"; failures: {report['failures']}",
        "",
        *_hosts_section(report["hosts"]),
        "",
        *_downtime_section(report["availability"]),
        "",
    ]
    rows = {r["id"]: r for r in report["actions"]}
    done = [rows[i] for i in report["done"]]
    out.append(f"Done: {len(done)}")
    if len(done) <= _LIST_CAP:
        out += [f"  {r['id']}" + (" (skipped)" if r["state"] == "skipped" else "") for r in done]
    else:
        out += _by_host(done)
    undone = report["undone"]
    out += ["", f"Undone (put back in service): {len(undone)}"]
    if len(undone) <= _LIST_CAP:
        table = [[u["id"], u["state"], u["message"]] for u in undone]
        out += _table(["action", "state", "message"], table, set()) if undone else []
    else:
        out += _by_host(undone)
    left = report["left"]
    out += ["", f"Left (not done): {len(left)}"]
    if not left:
        out.append("  nothing: every action is done")
    elif len(left) <= _LIST_CAP:
        out += _table(
            ["action", "state", "reason"], [[x["id"], x["state"], x["reason"]] for x in left], set()
        )
    else:  # failures and interruptions one by one, the rest by host
        worst = [x for x in left if x["state"] in ("failed", "unknown", "running")]
        out += [f"  {x['id']}  {x['state']}  {x['reason']}" for x in worst[:_LIST_CAP]]
        if len(worst) > _LIST_CAP:
            out.append(f"  … {len(worst) - _LIST_CAP} more failed or interrupted (by host below)")
        out += _by_host(left)
    return "\n".join(out) + "\n"
