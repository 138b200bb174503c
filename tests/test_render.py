"""Tests of the renderers: the review text report, Graphviz DOT and Mermaid."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any

import pytest

from orchestrator.estimate import hms, schedule
from orchestrator.plan import Action, Plan, fingerprint
from orchestrator.render import render_dot, render_mermaid, render_text
from orchestrator.render.common import clean, compress_hosts

PHASES = [
    {"name": "preflight", "title": "Preflight checks"},
    {"name": "frontends", "title": "Front-end servers"},
    {"name": "cluster", "title": "Cluster exclu1"},
    {"name": "verify", "title": "Verification"},
]

EXECUTION = {
    "failure_budget": {"max_failed": 0},
    "retries": {"attempts": 3, "delay_s": 30},
    "timeouts": {"action_s": 3600},
    "reboot": "if-required",
    "forks_hint": 10,
}


def act(
    action_id: str,
    kind: str,
    host: str | None,
    after: Iterable[str] = (),
    estimate_s: int = 60,
    phase: str = "",
    title: str = "",
    cluster: str | None = None,
    **params: Any,
) -> Action:
    """A hand-built action."""
    return Action(
        id=action_id,
        kind=kind,
        host=host,
        cluster=cluster,
        params=params,
        after=tuple(after),
        estimate_s=estimate_s,
        phase=phase,
        title=title,
    )


def exchange_actions() -> list[Action]:
    """A small S1 plan: backup check, three pooled front-ends, one cluster node, verify."""
    fes = ["fe1", "fe2", "fe3"]
    acts = [act("preflight/backup", "preflight", None, (), 120, "preflight", "Backups present")]
    for fe in fes:
        acts.append(
            act(f"{fe}/lb_out", "lb_out", fe, ["preflight/backup"], 10, "frontends", pool="owa")
        )
    for fe in fes:
        acts.append(
            act(
                f"{fe}/install",
                "install",
                fe,
                [f"{f}/lb_out" for f in fes],
                600,
                "frontends",
                f"Install SP2 on {fe}",
                package="SP2",
                version="6.5.7638",
            )
        )
    for fe in fes:
        after = [f"{f}/install" for f in fes]
        acts.append(act(f"{fe}/lb_in", "lb_in", fe, after, 10, "frontends", pool="owa"))
    acts += [
        act("tier1", "barrier", None, [f"{f}/install" for f in fes], 0, "frontends", name="t1"),
        act(
            "exclu1/node-b/move/EVS2",
            "move_group",
            "node-b",
            ["tier1"],
            60,
            "cluster",
            "Move EVS2 from node-b to node-c",
            "exclu1",
            group="EVS2",
            to_node="node-c",
        ),
        act(
            "exclu1/node-b/install",
            "install",
            "node-b",
            ["exclu1/node-b/move/EVS2"],
            900,
            "cluster",
            "Install SP2 on node-b",
            package="SP2",
        ),
        act("verify/version", "verify", None, ["exclu1/node-b/install"], 30, "verify", "Version"),
    ]
    return acts


def make_plan(
    actions: list[Action],
    extra: dict[str, Any] | None = None,
    guarantees: dict[str, Any] | None = None,
    estimate: dict[str, Any] | None = None,
) -> Plan:
    """A plan around ``actions`` with the planner's extra keys (overridable)."""
    sched = schedule(actions)
    base_extra: dict[str, Any] = {
        "phases": PHASES,
        "window": None,
        "downtime": [],
        "execution": EXECUTION,
        "warnings": [],
    }
    base_extra.update(extra or {})
    return Plan(
        playbook={"name": "Exchange 2003 SP2", "sha256": "ab" * 32},
        inventory={"sha256": "cd" * 32},
        facts={"hosts": {}, "clusters": {}, "pools": {"owa": {"members": ["fe1", "fe2", "fe3"]}}},
        actions=tuple(actions),
        guarantees=guarantees
        if guarantees is not None
        else {
            "tiers": [["fe1", "fe2", "fe3"], ["node-b"]],
            "pools": {"owa": {"mode": "all-at-once"}},
            "clusters": {"exclu1": {"strategy": "move-off", "max_out": 1, "first": "node-b"}},
        },
        estimate=estimate
        if estimate is not None
        else {
            "makespan_s": sched.makespan_s,
            "critical_path": list(sched.critical_path),
            "total_work_s": sum(a.estimate_s for a in actions),
        },
        extra=base_extra,
    )


def window(fits: bool) -> dict[str, Any]:
    """A window section: 2 hours, makespan 1h30m (fits) or 2h30m (does not)."""
    makespan = 5400 if fits else 9000
    return {
        "start": "2024-05-04T22:00:00+00:00",
        "end": "2024-05-05T00:00:00+00:00",
        "length_s": 7200,
        "makespan_s": makespan,
        "fits": fits,
        "slack_s": 7200 - makespan,
    }


# --- text report ------------------------------------------------------------------------


def test_text_header_and_summary() -> None:
    plan = make_plan(exchange_actions())
    text = render_text(plan)
    fp = fingerprint(plan.body()).removeprefix("sha256:")
    assert "Exchange 2003 SP2" in text
    assert f"sha256:{fp[:12]}" in text and fp not in text
    assert "sha256:" + "cd" * 6 in text
    assert "Hosts touched:       4" in text
    assert f"Actions:             {len(plan.actions)}" in text
    assert f"Estimated makespan:  {hms(plan.estimate['makespan_s'])}" in text
    assert f"Total work:          {hms(plan.estimate['total_work_s'])}" in text
    assert "no maintenance window set" in text
    assert "--forks 10" in text


def test_text_is_plain_and_lines_are_short() -> None:
    text = render_text(make_plan(exchange_actions()))
    assert "\x1b" not in text and "\t" not in text
    assert text.endswith("\n")
    assert all(len(line) <= 100 for line in text.splitlines())


def test_text_guarantees_in_words() -> None:
    text = render_text(make_plan(exchange_actions()))
    assert "Tier 1 (fe1, fe2, fe3) is fully installed before tier 2 starts" in text
    assert "Tier 2 (node-b) is installed last" in text
    assert "Pool owa: all members out together, none back before all are upgraded" in text
    assert "Cluster exclu1: move-off, one node out at a time, first node-b" in text


BIG_BATCH = [f"ws{i:03d}" for i in range(3, 51)]


def test_text_rolling_pool_and_fleet_guarantees() -> None:
    guarantees = {
        "pools": {"web": {"mode": "rolling", "max_out": 2}},
        "clusters": {"c55": {"strategy": "active-first", "max_out": 1, "first": "node-1"}},
        "fleets": {"clients": {"batches": [["ws001", "ws002"], BIG_BATCH]}},
    }
    text = render_text(make_plan(exchange_actions(), guarantees=guarantees))
    assert "Pool web: rolling, at most 2 members out of rotation at a time" in text
    assert "Cluster c55: active-first, one node out at a time, first node-1" in text
    assert "groups do NOT fail over" in text
    assert "Fleet clients: 50 hosts in 2 batches" in text
    assert "batch 2: ws003..ws050 (48 hosts)" in text


def test_text_downtime_none_planned() -> None:
    text = render_text(make_plan(exchange_actions()))
    assert "PLANNED DOWNTIME: none planned: every pool and cluster keeps serving" in text


def test_text_downtime_listed_prominently() -> None:
    downtime = [
        {
            "scope": "group",
            "name": "EXVS1",
            "cluster": "ex55",
            "reason": "users of group EXVS1 are cut off while node-1 is upgraded",
            "estimate_s": 1500,
        }
    ]
    text = render_text(make_plan(exchange_actions(), extra={"downtime": downtime}))
    assert "*** PLANNED DOWNTIME: 1 planned outage; users are cut off while these run" in text
    assert "GROUP EXVS1 (cluster ex55): about 25m00s" in text
    assert "users of group EXVS1 are cut off while node-1 is upgraded" in text
    # Downtime comes before the guarantees and the action listing.
    assert text.index("PLANNED DOWNTIME") < text.index("GUARANTEES") < text.index("PHASE 1/")


def test_text_downtime_absent_is_not_claimed_none() -> None:
    plan = make_plan(exchange_actions())
    plan = Plan(**{**plan.__dict__, "extra": {}})
    text = render_text(plan)
    assert "none planned" not in text
    assert "PLANNED DOWNTIME: not stated" in text


def test_text_window_fits() -> None:
    text = render_text(make_plan(exchange_actions(), extra={"window": window(True)}))
    assert "2024-05-04T22:00:00+00:00 -> 2024-05-05T00:00:00+00:00 (2h00m00s)" in text
    assert "Window fit:          fits, slack 30m00s" in text
    assert "DOES NOT FIT" not in text


def test_text_window_does_not_fit() -> None:
    text = render_text(make_plan(exchange_actions(), extra={"window": window(False)}))
    assert "Window fit:          DOES NOT FIT, the makespan exceeds it by 30m00s" in text
    assert "fits, slack" not in text


def test_text_phases_in_order_with_schedule_times() -> None:
    actions = exchange_actions()
    plan = make_plan(actions)
    text = render_text(plan)
    positions = [
        text.index(f"PHASE {i}/4: {p['title']} [{p['name']}]") for i, p in enumerate(PHASES, 1)
    ]
    assert positions == sorted(positions)
    start = schedule(actions).start
    # T+ earliest starts, from estimate.schedule.
    assert start["fe1/install"] == 130
    assert re.search(r"T\+00:02:10\s+10m00s  Install SP2 on fe1", text)
    assert re.search(r"T\+00:12:10\s+1m00s  Move EVS2 from node-b to node-c", text)
    assert re.search(r"T\+00:00:00\s+2m00s  Backups present", text)
    # Title fallback: kind and params.
    assert "lb_out pool=owa" in text
    # Run-wide actions are labelled, hosts are headings.
    assert "  (run-wide)" in text and "\n  node-b\n" in text


def test_text_actions_in_schedule_order_within_host() -> None:
    text = render_text(make_plan(exchange_actions()))
    block = text[text.index("\n  fe2\n") :]
    assert block.index("lb_out pool=owa") < block.index("Install SP2 on fe2")
    assert block.index("Install SP2 on fe2") < block.index("lb_in pool=owa")


def test_text_unknown_phase_last() -> None:
    actions = [*exchange_actions(), act("extra/x", "hook", "fe1", (), 5, "mystery", "Odd hook")]
    text = render_text(make_plan(actions))
    assert text.index("OTHER ACTIONS (no known phase)") > text.index("PHASE 4/4")
    assert "Odd hook" in text[text.index("OTHER ACTIONS") :]


def test_text_critical_path_execution_and_warnings() -> None:
    plan = make_plan(exchange_actions(), extra={"warnings": ["node-c has no backup agent"]})
    text = render_text(plan)
    cp = text[text.index("CRITICAL PATH") : text.index("EXECUTION")]
    for action_id in plan.estimate["critical_path"]:
        assert plan.action(action_id).title or plan.action(action_id).kind in cp
    assert "Install SP2 on node-b  @ node-b" in cp
    ex = text[text.index("EXECUTION") :]
    assert "Failure budget:   max_failed=0" in ex
    assert "Retries:          attempts=3, delay_s=30" in ex
    assert "Timeouts:         action_s=3600" in ex
    assert "Reboot policy:    if-required" in ex
    assert "- node-c has no backup agent" in text[text.index("WARNINGS") :]


def test_text_is_deterministic() -> None:
    a = render_text(make_plan(exchange_actions(), extra={"window": window(True)}))
    b = render_text(make_plan(exchange_actions(), extra={"window": window(True)}))
    assert a == b and a.encode() == b.encode()


def fleet_actions(count: int) -> list[Action]:
    """``count`` workstations, each uninstall -> install -> reboot, in batches of 10."""
    acts: list[Action] = [act("pre", "preflight", None, (), 60, "preflight", "Package present")]
    prev_batch: list[str] = ["pre"]
    for b in range(0, count, 10):
        batch_last: list[str] = []
        for i in range(b + 1, min(b + 10, count) + 1):
            h = f"ws{i:03d}"
            acts += [
                act(
                    f"{h}/un",
                    "uninstall",
                    h,
                    prev_batch,
                    30,
                    "clients",
                    f"Remove v1 from {h}",
                    package="client",
                ),
                act(
                    f"{h}/in",
                    "install",
                    h,
                    [f"{h}/un"],
                    120,
                    "clients",
                    f"Install v2 on {h}",
                    package="client",
                    version="2",
                ),
                act(f"{h}/rb", "reboot", h, [f"{h}/in"], 90, "clients", reason="msi 3010"),
            ]
            batch_last.append(f"{h}/rb")
        prev_batch = batch_last
    return acts


def test_text_large_fleet_is_compressed() -> None:
    phases = [*PHASES, {"name": "clients", "title": "Client workstations"}]
    text = render_text(make_plan(fleet_actions(50), extra={"phases": phases}))
    assert "ws001..ws050 (50 hosts), each:" in text
    assert "\n  ws017\n" not in text and "ws017" not in text
    assert "Remove v1 from <host>" in text and "Install v2 on <host>" in text
    assert "reboot reason=msi 3010" in text
    # Batches start at different times: the range of earliest starts is shown.
    assert re.search(r"T\+00:01:00\.\.T\+00:17:00\s+30s  Remove v1 from <host>", text)
    assert len(text.splitlines()) < 80


def test_text_small_fleet_is_not_compressed() -> None:
    phases = [*PHASES, {"name": "clients", "title": "Client workstations"}]
    text = render_text(make_plan(fleet_actions(20), extra={"phases": phases}))
    assert "each:" not in text
    assert "\n  ws017\n" in text


def test_compress_hosts() -> None:
    assert compress_hosts(f"ws{i:03d}" for i in range(50, 0, -1)) == "ws001..ws050 (50 hosts)"
    assert compress_hosts(["fe3", "fe1", "fe2"]) == "fe1, fe2, fe3"
    assert compress_hosts(["a9", "a10", "a11", "a12", "b"]) == "a9..a12, b (5 hosts)"
    assert compress_hosts(["x1", "x2", "x3", "x4", "x6"]) == "x1..x4, x6 (5 hosts)"


def test_text_plan_without_extras() -> None:
    actions = [act("a", "install", "h1", (), 60, package="p"), act("b", "reboot", "h1", ["a"])]
    plan = Plan({"name": "x"}, {}, {}, tuple(actions), {}, {})
    text = render_text(plan)
    assert "ACTIONS" in text and "install package=p" in text
    assert "no maintenance window set" in text
    assert "sha256:unknown" in text
    assert "not stated by this plan (engine defaults apply)" in text
    assert "T+00:01:00" in text


def test_text_plan_with_cycle_still_renders() -> None:
    actions = [act("a", "install", "h1", ["b"]), act("b", "reboot", "h1", ["a"])]
    text = render_text(Plan({"name": "x"}, {}, {}, tuple(actions), {}, {}))
    assert "cannot be computed" in text


# --- hostile names ------------------------------------------------------------------------

HOSTILE = 'EV"S\\1\n<b>{x}|y; #quot; `z` $$ ü 💥 \x1b[31m\u202e end'


def hostile_plan() -> Plan:
    """A plan whose group, host, id, title and phase names are all hostile."""
    actions = [
        act("pre", "preflight", None, (), 10, "preflight", "Check"),
        act(
            f"move/{HOSTILE}",
            "move_group",
            HOSTILE,
            ["pre"],
            60,
            "cluster",
            f"Move {HOSTILE} to node-c",
            group=HOSTILE,
        ),
        act("end", "install", "node-c", [f"move/{HOSTILE}", 'ghost"id'], 60, "cluster"),
    ]
    phases = [{"name": "preflight", "title": "Pre"}, {"name": "cluster", "title": HOSTILE}]
    return make_plan(
        actions,
        extra={"phases": phases, "warnings": [HOSTILE]},
        guarantees={"clusters": {HOSTILE: {"strategy": "move-off", "max_out": 1}}},
    )


def test_text_hostile_names_are_neutralised() -> None:
    text = render_text(hostile_plan())
    assert "\x1b" not in text and "\u202e" not in text
    assert "\\x1b[31m" in text and "\\u202e" in text
    assert all(ch in "\n" or ch.isprintable() for ch in text)
    assert f"Cluster {clean(HOSTILE)}: move-off" in text


# --- DOT ------------------------------------------------------------------------------------

_DOT_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|->|[{}\[\];,=]|[A-Za-z_][A-Za-z0-9_.]*|[0-9.]+|\s+')


def dot_tokens(dot: str) -> list[str]:
    """Tokenise DOT; fails on anything outside the grammar subset the renderer emits."""
    tokens: list[str] = []
    pos = 0
    while pos < len(dot):
        m = _DOT_TOKEN.match(dot, pos)
        assert m is not None, f"unexpected DOT text at {pos}: {dot[pos : pos + 30]!r}"
        if not m.group().isspace():
            tokens.append(m.group())
        pos = m.end()
    return tokens


def dot_unquote(token: str) -> str:
    assert token.startswith('"') and token.endswith('"')
    return re.sub(r"\\(.)", r"\1", token[1:-1])


def check_dot(dot: str) -> tuple[set[str], set[tuple[str, str]], dict[str, str]]:
    """Structural check: braces balance, strings have no raw newline, edges use declared
    nodes. Returns the node ids, the edges and the labels."""
    tokens = dot_tokens(dot)
    depth = 0
    for t in tokens:
        depth += {"{": 1, "}": -1}.get(t, 0)
        assert depth >= 0
        assert "\n" not in t
    assert depth == 0
    assert tokens[:3] == ["digraph", '"plan"', "{"]
    nodes: set[str] = set()
    labels: dict[str, str] = {}
    edges: set[tuple[str, str]] = set()
    for i, t in enumerate(tokens):
        if t.startswith('"') and tokens[i + 1] == "[" and tokens[i - 1] in {";", "{", "}"}:
            nodes.add(dot_unquote(t))
            assert tokens[i + 2 : i + 4] == ["label", "="]
            labels[dot_unquote(t)] = dot_unquote(tokens[i + 4])
        if t == "->":
            edges.add((dot_unquote(tokens[i - 1]), dot_unquote(tokens[i + 1])))
    assert all(a in nodes and b in nodes for a, b in edges)
    return nodes, edges, labels


def test_dot_structure() -> None:
    plan = make_plan(exchange_actions())
    nodes, edges, labels = check_dot(render_dot(plan))
    assert nodes == {a.id for a in plan.actions}
    assert edges == {(p, a.id) for a in plan.actions for p in a.after}
    assert labels["exclu1/node-b/move/EVS2"] == "Move EVS2 from node-b to node-c"
    assert labels["fe1/lb_out"] == "fe1/lb_out"  # no title: the id
    dot = render_dot(plan)
    assert dot.count('subgraph "cluster_') == 4
    assert 'label="Front-end servers"' in dot


def test_dot_shapes_by_family() -> None:
    dot = render_dot(make_plan(exchange_actions()))
    line = {m.group(1): m.group(0) for m in re.finditer(r'^\s*"([^"]+)" \[.*$', dot, re.M)}
    assert "shape=box," in line["exclu1/node-b/move/EVS2"]
    assert "shape=parallelogram" in line["fe1/lb_out"]
    assert "shape=box3d" in line["fe1/install"]
    assert "shape=hexagon" in line["preflight/backup"]
    assert "shape=diamond" in line["tier1"]


def test_dot_hostile_names_stay_quoted() -> None:
    plan = hostile_plan()
    dot = render_dot(plan)
    nodes, _, labels = check_dot(dot)
    assert f"move/{clean(HOSTILE)}" in nodes
    assert 'ghost"id' in nodes  # an `after` outside the plan is shown, not dropped
    assert labels[f"move/{clean(HOSTILE)}"] == f"Move {clean(HOSTILE)} to node-c"
    outside = re.sub(r'"(?:[^"\\]|\\.)*"', '""', dot)
    for fragment in ("<b>", "|y", "ü", "💥", "#quot", "$$", "EV"):
        assert fragment not in outside
    assert "\x1b" not in dot and "\u202e" not in dot


def test_dot_parses_with_pydot() -> None:
    pydot = pytest.importorskip("pydot")
    graphs = pydot.graph_from_dot_data(render_dot(hostile_plan()))
    assert graphs is not None and len(graphs) == 1


def test_dot_is_deterministic() -> None:
    assert render_dot(hostile_plan()) == render_dot(hostile_plan())


# --- Mermaid --------------------------------------------------------------------------------

_MM_NODE = re.compile(r'^\s*([nm][0-9]+)(\(|\[/|\[\[|\{\{|\{|\[)"([^"]*)"(\)|/\]|\]\]|\}\}|\}|\])$')
_MM_CLASSDEF = re.compile(r"^\s*classDef [a-z]+ [a-z:#0-9,\- ]+;$")
_MM_CLASS = re.compile(r"^\s*class [nm][0-9]+(,[nm][0-9]+)* [a-z]+;$")
_MM_LABEL_CHARS = re.compile(r"^[A-Za-z0-9 \-_./,+=!?@'^~*\\#;]*$")


def mermaid_decode(label: str) -> str:
    """Mermaid entities (``#quot;``, ``#60;``) back to text."""
    numeric = re.sub(r"#([0-9]+);", r"&#\1;", label)
    return html.unescape(re.sub(r"#([A-Za-z]+);", r"&\1;", numeric))


def check_mermaid(text: str) -> tuple[dict[str, str], set[tuple[str, str]]]:
    """Every line is one of the forms the renderer emits; ids are generated; labels only
    carry safe characters. Returns node labels (decoded) and edges."""
    lines = text.splitlines()
    assert lines[0] == "flowchart TB"
    labels: dict[str, str] = {}
    edges: set[tuple[str, str]] = set()
    depth = 0
    for line in lines[1:]:
        if m := _MM_NODE.match(line):
            assert _MM_LABEL_CHARS.match(m.group(3)), line
            labels[m.group(1)] = mermaid_decode(m.group(3))
        elif m := re.match(r'^\s*subgraph (p[0-9]+)\["([^"]*)"\]$', line):
            assert _MM_LABEL_CHARS.match(m.group(2)), line
            depth += 1
        elif line.strip() == "end":
            depth -= 1
        elif line.lstrip().startswith("%% "):
            pass
        elif m := re.match(r"^\s*([nm][0-9]+) --> ([nm][0-9]+)$", line):
            edges.add((m.group(1), m.group(2)))
        elif not (_MM_CLASSDEF.match(line) or _MM_CLASS.match(line)):
            raise AssertionError(f"unexpected Mermaid line: {line!r}")
    assert depth == 0
    assert all(a in labels and b in labels for a, b in edges)
    return labels, edges


def test_mermaid_structure() -> None:
    plan = make_plan(exchange_actions())
    text = render_mermaid(plan)
    labels, edges = check_mermaid(text)
    assert len(labels) == len(plan.actions)
    assert len(edges) == sum(len(a.after) for a in plan.actions)
    assert "Move EVS2 from node-b to node-c" in labels.values()
    assert text.count("  subgraph p") == 4
    assert 'subgraph p1["Front-end servers"]' in text
    assert re.search(r'n[0-9]+\{\{"Backups present"\}\}', text)  # checks are hexagons
    assert re.search(r'n[0-9]+\[/"fe1/lb_out"/\]', text)  # pool ops are parallelograms


def test_mermaid_hostile_names_escaped() -> None:
    plan = hostile_plan()
    text = render_mermaid(plan)
    labels, _ = check_mermaid(text)
    assert f"Move {clean(HOSTILE)} to node-c" in labels.values()
    assert 'not in plan: ghost"id' in labels.values()
    assert "#quot;" in text
    assert "\x1b" not in text and "ü" not in text and "💥" not in text
    assert text.isascii()
    # The literal text "#quot;" in a name is not turned into a quote.
    assert "#35;quot#59;" in text


def test_mermaid_large_plan_notes_edge_limit() -> None:
    phases = [*PHASES, {"name": "clients", "title": "Client workstations"}]
    text = render_mermaid(make_plan(fleet_actions(60), extra={"phases": phases}))
    labels, edges = check_mermaid(text)
    assert len(edges) > 500 and len(labels) == 1 + 60 * 3
    assert text.splitlines()[1].startswith(f"  %% {len(edges)} edges: raise Mermaid's maxEdges")
    small = render_mermaid(make_plan(fleet_actions(20), extra={"phases": phases}))
    assert "%%" not in small


def test_mermaid_is_deterministic() -> None:
    assert render_mermaid(hostile_plan()) == render_mermaid(hostile_plan())
