"""The plan's DAG as a Graphviz DOT digraph or a Mermaid flowchart.

One node per action (label: its title, else its id), shaped and coloured by kind family
(cluster ops, pool ops, install/reboot, checks, barriers, other), one edge per ``after`` entry,
one cluster/subgraph per phase. Every name is untrusted: DOT strings are always quoted with
``"`` and ``\\`` escaped; Mermaid node ids are generated (``n0``, ``n1``, ...) and labels carry
only safe ASCII, everything else as Mermaid ``#...;`` entities. Output is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..plan import Action, Plan
from .common import clean, family, graph_label, phases_of

#: family -> (DOT shape, fill colour, Mermaid shape opener, closer)
STYLES: dict[str, tuple[str, str, str, str]] = {
    "cluster": ("box", "#cfe2ff", "(", ")"),
    "pool": ("parallelogram", "#d1e7dd", "[/", "/]"),
    "change": ("box3d", "#fff3cd", "[[", "]]"),
    "check": ("hexagon", "#e2e3e5", "{{", "}}"),
    "barrier": ("diamond", "#f8d7da", "{", "}"),
    "other": ("box", "#ffffff", "[", "]"),
    "missing": ("box", "#ffffff", "[", "]"),
}
#: Mermaid refuses diagrams with more edges than this unless its config raises the limit.
MERMAID_MAX_EDGES = 500
_MERMAID_SAFE = frozenset(" -_./,+=!?@'^~*\\")


def _phase_groups(plan: Plan) -> tuple[list[tuple[str, list[Action]]], list[Action]]:
    """Actions per known phase (plan order; empty phases dropped) and those in no known phase."""
    phases = phases_of(plan.extra)
    groups: dict[str, list[Action]] = {name: [] for name, _ in phases}
    loose: list[Action] = []
    for a in plan.actions:
        groups.get(a.phase, loose).append(a)
    return [(title, groups[name]) for name, title in phases if groups[name]], loose


def _missing(plan: Plan) -> list[str]:
    """Ids named in ``after`` that are not actions of the plan, first-mention order."""
    known = {a.id for a in plan.actions}
    seen: dict[str, None] = {}
    for a in plan.actions:
        for p in a.after:
            if p not in known:
                seen.setdefault(p, None)
    return list(seen)


def _edges(plan: Plan) -> Iterator[tuple[str, str]]:
    """``(before, after)`` pairs, deduplicated, in plan order."""
    seen: set[tuple[str, str]] = set()
    for a in plan.actions:
        for p in a.after:
            if (p, a.id) not in seen:
                seen.add((p, a.id))
                yield p, a.id


def dot_quote(text: object) -> str:
    """A DOT double-quoted string: controls made visible, ``\\`` and ``"`` escaped."""
    body = clean(text).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{body}"'


def _dot_node(a: Action) -> str:
    shape, fill, _, _ = STYLES[family(a.kind)]
    return (
        f"{dot_quote(a.id)} [label={dot_quote(graph_label(a))}, tooltip={dot_quote(a.id)}, "
        f'shape={shape}, fillcolor="{fill}"];'
    )


def render_dot(plan: Plan) -> str:
    """The plan as a Graphviz ``digraph`` (ends with a newline)."""
    name = plan.playbook.get("name") or "plan"
    lines = [
        'digraph "plan" {',
        f"  graph [label={dot_quote(name)}, labelloc=t, rankdir=TB, fontname=Helvetica];",
        '  node [style="filled,rounded", fontname=Helvetica, fontsize=10];',
        "  edge [arrowsize=0.7];",
    ]
    groups, loose = _phase_groups(plan)
    for i, (title, actions) in enumerate(groups):
        lines += [f'  subgraph "cluster_{i}" {{', f"    label={dot_quote(title)};"]
        lines += ['    style="rounded,dashed"; color="#6c757d";']
        lines += [f"    {_dot_node(a)}" for a in actions]
        lines.append("  }")
    lines += [f"  {_dot_node(a)}" for a in loose]
    for ref in _missing(plan):
        label = dot_quote(f"not in plan: {ref}")
        lines.append(f'  {dot_quote(ref)} [label={label}, shape=box, style="dashed"];')
    lines += [f"  {dot_quote(p)} -> {dot_quote(c)};" for p, c in _edges(plan)]
    lines.append("}")
    return "\n".join(lines) + "\n"


def mermaid_text(text: object) -> str:
    """A Mermaid label body: safe ASCII kept, ``"`` as ``#quot;``, the rest as ``#NNN;``."""
    out: list[str] = []
    for ch in clean(text):
        if ch == '"':
            out.append("#quot;")
        elif ch.isascii() and (ch.isalnum() or ch in _MERMAID_SAFE):
            out.append(ch)
        else:
            out.append(f"#{ord(ch)};")
    return "".join(out)


def _mermaid_node(node_id: str, label: str, fam: str) -> str:
    _, _, opener, closer = STYLES[fam]
    return f'{node_id}{opener}"{mermaid_text(label)}"{closer}'


def render_mermaid(plan: Plan) -> str:
    """The plan as a Mermaid ``flowchart`` (ends with a newline)."""
    ids = {a.id: f"n{i}" for i, a in enumerate(plan.actions)}
    missing = _missing(plan)
    ids.update({ref: f"m{i}" for i, ref in enumerate(missing)})
    members: dict[str, list[str]] = {}
    lines = ["flowchart TB"]

    def node(a: Action, indent: str) -> str:
        fam = family(a.kind)
        members.setdefault(fam, []).append(ids[a.id])
        return indent + _mermaid_node(ids[a.id], graph_label(a), fam)

    groups, loose = _phase_groups(plan)
    for i, (title, actions) in enumerate(groups):
        lines.append(f'  subgraph p{i}["{mermaid_text(title)}"]')
        lines += [node(a, "    ") for a in actions]
        lines.append("  end")
    lines += [node(a, "  ") for a in loose]
    for ref in missing:
        members.setdefault("missing", []).append(ids[ref])
        lines.append("  " + _mermaid_node(ids[ref], f"not in plan: {ref}", "missing"))
    edges = [f"  {ids[p]} --> {ids[c]}" for p, c in _edges(plan)]
    if len(edges) > MERMAID_MAX_EDGES:
        lines.insert(1, f"  %% {len(edges)} edges: raise Mermaid's maxEdges or use the DOT output")
    lines += edges
    for fam, (_, fill, _, _) in STYLES.items():
        if fam in members:
            dash = ",stroke-dasharray:4 3" if fam == "missing" else ""
            lines.append(f"  classDef {fam} fill:{fill},stroke:#333,color:#000{dash};")
            lines.append(f"  class {','.join(members[fam])} {fam};")
    return "\n".join(lines) + "\n"
