"""The plan contract, ``orchestrator.plan/v1`` (see ``shared/contracts/plan-v1.md``).

A :class:`Plan` is what the planner produces, what ``plan --format json`` writes, what review
tools and CI gates read, and what ``apply`` will run. :meth:`Plan.to_document` renders the JSON
document with its fingerprint (SHA-256 over the canonical JSON of everything else), and
:func:`load_plan` reads one back, checking its shape and fingerprint.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import Location, PlanFileError

FORMAT = "orchestrator.plan/v1"


@dataclass(frozen=True, slots=True)
class Action:
    """One node of the plan's DAG. ``after`` lists the ids that must complete first."""

    id: str
    kind: str
    host: str | None
    cluster: str | None
    params: Mapping[str, Any]
    after: tuple[str, ...]
    estimate_s: int
    phase: str = ""
    title: str = ""

    def to_contract(self) -> dict[str, Any]:
        """The action as a JSON object of the contract (``phase``/``title`` are extra keys)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "host": self.host,
            "cluster": self.cluster,
            "params": dict(self.params),
            "after": list(self.after),
            "estimate_s": self.estimate_s,
            "phase": self.phase,
            "title": self.title,
        }


@dataclass(frozen=True)
class Plan:
    """A reviewed-before-run plan: facts, actions (a DAG), guarantees and estimates."""

    playbook: Mapping[str, Any]
    inventory: Mapping[str, Any]
    facts: Mapping[str, Any]
    actions: tuple[Action, ...]
    guarantees: Mapping[str, Any]
    estimate: Mapping[str, Any]
    extra: Mapping[str, Any] = field(default_factory=dict)

    def action(self, action_id: str) -> Action:
        """The action with id ``action_id``."""
        for a in self.actions:
            if a.id == action_id:
                return a
        raise KeyError(action_id)

    def body(self) -> dict[str, Any]:
        """The document without its fingerprint (what the fingerprint covers)."""
        doc: dict[str, Any] = {
            "format": FORMAT,
            "playbook": dict(self.playbook),
            "inventory": dict(self.inventory),
            "facts": dict(self.facts),
            "actions": [a.to_contract() for a in self.actions],
            "guarantees": dict(self.guarantees),
            "estimate": dict(self.estimate),
        }
        for key, value in self.extra.items():
            doc.setdefault(key, value)
        return doc

    def to_document(self) -> dict[str, Any]:
        """The full contract document, ``fingerprint`` second after ``format``."""
        body = self.body()
        doc = {"format": FORMAT, "fingerprint": fingerprint(body)}
        doc.update(body)
        return doc

    def to_json(self) -> str:
        """The document as byte-stable JSON text, ending with a newline (see :func:`dumps`).

        Each action is encoded once, canonically; that string is both hashed into the
        fingerprint and printed on its own line."""
        body = self.body()
        actions = [_canonical(a) for a in body["actions"]]
        parts = []
        for key in sorted(body):
            value = "[" + ",".join(actions) + "]" if key == "actions" else _canonical(body[key])
            parts.append(f"{_canonical(key)}:{value}")
        digest = hashlib.sha256(("{" + ",".join(parts) + "}").encode()).hexdigest()
        doc: dict[str, Any] = {"format": FORMAT, "fingerprint": "sha256:" + digest}
        doc.update(body)
        return dumps(doc, encoded_actions=actions)


_canonical = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode


def dumps(doc: Mapping[str, Any], encoded_actions: list[str] | None = None) -> str:
    """Diff-friendly JSON: top-level objects expanded two levels deep (facts one host per
    line), lists one item per line (one action per line, in canonical form), the rest compact.
    Only the C encoder does the heavy work; the text is joined once at the end."""
    compact = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
    out: list[str] = []
    put = out.append

    def items(values: Iterable[str], indent: str, open_: str, close: str) -> None:
        put(open_)
        sep = "\n"
        for value in values:
            put(sep)
            put(indent)
            put(value)
            sep = ",\n"
        put(f"\n{indent[:-2]}{close}")

    def emit(value: Any, depth: int, indent: str) -> None:
        inner = indent + "  "
        if isinstance(value, dict) and value and depth < 3:
            put("{")
            sep = "\n"
            for k, v in value.items():
                put(f"{sep}{inner}{compact(k)}: ")
                emit(v, depth + 1, inner)
                sep = ",\n"
            put(f"\n{indent}}}")
        elif isinstance(value, list) and value and depth < 2:
            items(map(_canonical, value), inner, "[", "]")
        else:
            put(compact(value))

    put("{")
    sep = "\n"
    for key, value in doc.items():
        put(f"{sep}  {compact(key)}: ")
        if key == "actions" and encoded_actions:
            items(encoded_actions, "    ", "[", "]")
        else:
            emit(value, 1, "  ")
        sep = ",\n"
    put("\n}\n")
    return "".join(out)


def canonical_json(obj: Any) -> bytes:
    """Canonical JSON: sorted keys, no insignificant whitespace, UTF-8."""
    return _canonical(obj).encode()


def fingerprint(body: Mapping[str, Any]) -> str:
    """``sha256:<hex>`` over the canonical JSON of ``body`` (any ``fingerprint`` key ignored)."""
    data = {k: v for k, v in body.items() if k != "fingerprint"}
    return "sha256:" + hashlib.sha256(canonical_json(data)).hexdigest()


_REQUIRED_ACTION_KEYS = {"id": str, "kind": str, "params": dict, "after": list}


def plan_from_document(doc: Any, source: str = "<plan>") -> Plan:
    """Rebuild a :class:`Plan` from its JSON document; malformed documents raise PlanFileError."""
    loc = Location(source)
    if not isinstance(doc, dict):
        raise PlanFileError("a plan must be a JSON object", loc)
    if doc.get("format") != FORMAT:
        raise PlanFileError(f"format is {doc.get('format')!r}, expected {FORMAT!r}", loc)
    for key in ("playbook", "inventory", "facts", "actions", "guarantees", "estimate"):
        if key not in doc:
            raise PlanFileError(f"missing key {key!r}", loc)
    expected = fingerprint(doc)
    if doc.get("fingerprint") != expected:
        raise PlanFileError(
            "fingerprint does not match the content: the plan was edited after it was made", loc
        )
    actions = []
    for i, raw in enumerate(doc["actions"]):
        if not isinstance(raw, dict):
            raise PlanFileError(f"actions[{i}] must be an object", loc)
        for key, typ in _REQUIRED_ACTION_KEYS.items():
            if not isinstance(raw.get(key), typ):
                raise PlanFileError(f"actions[{i}].{key} must be a {typ.__name__}", loc)
        actions.append(
            Action(
                id=raw["id"],
                kind=raw["kind"],
                host=raw.get("host"),
                cluster=raw.get("cluster"),
                params=raw["params"],
                after=tuple(raw["after"]),
                estimate_s=int(raw.get("estimate_s", 0)),
                phase=str(raw.get("phase", "")),
                title=str(raw.get("title", "")),
            )
        )
    known = {"format", "fingerprint", "playbook", "inventory", "facts", "actions"}
    known |= {"guarantees", "estimate"}
    return Plan(
        playbook=doc["playbook"],
        inventory=doc["inventory"],
        facts=doc["facts"],
        actions=tuple(actions),
        guarantees=doc["guarantees"],
        estimate=doc["estimate"],
        extra={k: v for k, v in doc.items() if k not in known},
    )


def load_plan(path: Path) -> Plan:
    """Read a saved plan file."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanFileError("file not found", Location(str(path))) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanFileError(f"cannot read: {exc}", Location(str(path))) from None
    except json.JSONDecodeError as exc:
        raise PlanFileError(
            f"not JSON: {exc.msg}", Location(str(path), exc.lineno, exc.colno)
        ) from None
    return plan_from_document(doc, str(path))
