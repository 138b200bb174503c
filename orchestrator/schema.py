"""A small declarative schema for YAML inputs: checks with file/line errors, exports JSON Schema.

One description of each input format serves two purposes: :func:`check` validates loaded YAML
(unknown keys with a "did you mean", wrong types, missing keys, bad enum values, each reported
with the file and line), and :func:`to_json_schema` produces the JSON Schema that editors use to
validate and complete the same files, so the two can never drift apart.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import Location, SchemaError
from .sourcemap import where


class Spec:
    """Base of all value specifications."""

    doc: str = ""

    def describe(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError


@dataclass(frozen=True)
class Str(Spec):
    """A string, optionally one of ``enum`` or matching ``pattern``; ``rule`` says in words
    what the pattern means (the error then quotes it instead of the pattern)."""

    enum: tuple[str, ...] | None = None
    pattern: str | None = None
    doc: str = ""
    rule: str = ""

    def describe(self) -> str:
        if self.enum:
            return "one of " + ", ".join(repr(e) for e in self.enum)
        return "a string"


@dataclass(frozen=True)
class Int(Spec):
    """An integer (booleans are not integers here), optionally with a minimum."""

    minimum: int | None = None
    doc: str = ""

    def describe(self) -> str:
        return "an integer" + (f" >= {self.minimum}" if self.minimum is not None else "")


@dataclass(frozen=True)
class Num(Spec):
    """A number (int or float), optionally with a minimum."""

    minimum: float | None = None
    doc: str = ""

    def describe(self) -> str:
        return "a number" + (f" >= {self.minimum:g}" if self.minimum is not None else "")


@dataclass(frozen=True)
class Bool(Spec):
    """``true`` or ``false``."""

    doc: str = ""

    def describe(self) -> str:
        return "true or false"


@dataclass(frozen=True)
class ListOf(Spec):
    """A list whose items all match ``item``."""

    item: Spec
    min_items: int = 0
    doc: str = ""

    def describe(self) -> str:
        return f"a list of {self.item.describe()}"


@dataclass(frozen=True)
class MapOf(Spec):
    """A mapping from free names (hosts, pools, clusters, ...) to values matching ``value``."""

    value: Spec
    doc: str = ""

    def describe(self) -> str:
        return "a mapping of names"


@dataclass(frozen=True)
class Field:
    """One key of an :class:`Obj`."""

    spec: Spec
    required: bool = False
    doc: str = ""


@dataclass(frozen=True)
class Obj(Spec):
    """A mapping with a fixed set of keys."""

    fields: Mapping[str, Field] = field(default_factory=dict)
    doc: str = ""

    def describe(self) -> str:
        return "a mapping"


@dataclass(frozen=True)
class OneOf(Spec):
    """A value matching any one of ``options`` (e.g. a string or a mapping)."""

    options: Sequence[Spec]
    doc: str = ""

    def describe(self) -> str:
        return " or ".join(o.describe() for o in self.options)


@dataclass(frozen=True)
class AnyValue(Spec):
    """Anything (free-form variables)."""

    doc: str = ""

    def describe(self) -> str:
        return "any value"


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{value!r}"


def _matches(spec: Spec, value: Any) -> bool:
    try:
        check(spec, value, "", Location("<probe>"))
    except SchemaError:
        return False
    return True


def check(spec: Spec, value: Any, path: str, loc: Location) -> None:
    """Raise :class:`SchemaError` if ``value`` (found at ``path``/``loc``) does not match."""
    label = path or "the document"
    if isinstance(spec, AnyValue):
        return
    if isinstance(spec, OneOf):
        if not any(_matches(o, value) for o in spec.options):
            mapping_options = [o for o in spec.options if isinstance(o, Obj | MapOf)]
            if isinstance(value, Mapping) and len(mapping_options) == 1:
                check(mapping_options[0], value, path, loc)
            raise SchemaError(f"{label} must be {spec.describe()}, got {_type_name(value)}", loc)
        return
    if isinstance(spec, Str):
        if not isinstance(value, str):
            raise SchemaError(f"{label} must be {spec.describe()}, got {_type_name(value)}", loc)
        if spec.enum and value not in spec.enum:
            raise SchemaError(
                f"{label} is {value!r}, must be {spec.describe()}{did_you_mean(value, spec.enum)}",
                loc,
            )
        if spec.pattern and not re.fullmatch(spec.pattern, value):
            if spec.rule:
                raise SchemaError(f"{label} {value!r} is not allowed: {spec.rule}", loc)
            raise SchemaError(f"{label} {value!r} does not match the pattern {spec.pattern}", loc)
        return
    if isinstance(spec, Bool):
        if not isinstance(value, bool):
            raise SchemaError(f"{label} must be true or false, got {_type_name(value)}", loc)
        return
    if isinstance(spec, Int | Num):
        ok = isinstance(value, int) or (isinstance(spec, Num) and isinstance(value, float))
        if isinstance(value, bool) or not ok:
            raise SchemaError(f"{label} must be {spec.describe()}, got {_type_name(value)}", loc)
        assert isinstance(value, int | float)
        if spec.minimum is not None and value < spec.minimum:
            raise SchemaError(f"{label} must be {spec.describe()}, got {value}", loc)
        return
    if isinstance(spec, ListOf):
        if not isinstance(value, list):
            raise SchemaError(f"{label} must be {spec.describe()}, got {_type_name(value)}", loc)
        if len(value) < spec.min_items:
            raise SchemaError(f"{label} must have at least {spec.min_items} item(s)", loc)
        for i, item in enumerate(value):
            check(spec.item, item, f"{path}[{i}]", where(value, i, loc.file))
        return
    if isinstance(spec, MapOf | Obj):
        if not isinstance(value, Mapping):
            raise SchemaError(f"{label} must be {spec.describe()}, got {_type_name(value)}", loc)
        for key, item in value.items():
            key_loc = where(value, key, loc.file)
            if not isinstance(key, str):
                raise SchemaError(f"{label}: key {key!r} must be a string", key_loc)
            sub = f"{path}.{key}" if path else key
            if isinstance(spec, MapOf):
                check(spec.value, item, sub, key_loc)
                continue
            if key not in spec.fields:
                hint = did_you_mean(key, list(spec.fields))
                raise SchemaError(f"unknown key {key!r} in {label}{hint}", key_loc)
            check(spec.fields[key].spec, item, sub, key_loc)
        if isinstance(spec, Obj):
            for name, fld in spec.fields.items():
                if fld.required and name not in value:
                    raise SchemaError(f"{label} is missing the required key {name!r}", loc)
        return
    raise TypeError(f"unknown spec {spec!r}")  # pragma: no cover


def to_json_schema(spec: Spec) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12 subset) equivalent of ``spec``."""
    out: dict[str, Any]
    if isinstance(spec, AnyValue):
        out = {}
    elif isinstance(spec, Str):
        out = {"type": "string"}
        if spec.enum:
            out["enum"] = list(spec.enum)
        if spec.pattern:
            out["pattern"] = f"^(?:{spec.pattern})$"
    elif isinstance(spec, Bool):
        out = {"type": "boolean"}
    elif isinstance(spec, Int | Num):
        out = {"type": "integer" if isinstance(spec, Int) else "number"}
        if spec.minimum is not None:
            out["minimum"] = spec.minimum
    elif isinstance(spec, ListOf):
        out = {"type": "array", "items": to_json_schema(spec.item)}
        if spec.min_items:
            out["minItems"] = spec.min_items
    elif isinstance(spec, MapOf):
        out = {"type": "object", "additionalProperties": to_json_schema(spec.value)}
    elif isinstance(spec, Obj):
        props = {}
        for name, fld in spec.fields.items():
            sub = to_json_schema(fld.spec)
            if fld.doc and "description" not in sub:
                sub["description"] = fld.doc
            props[name] = sub
        out = {"type": "object", "properties": props, "additionalProperties": False}
        required = [n for n, f in spec.fields.items() if f.required]
        if required:
            out["required"] = required
    elif isinstance(spec, OneOf):
        out = {"anyOf": [to_json_schema(o) for o in spec.options]}
    else:  # pragma: no cover
        raise TypeError(f"unknown spec {spec!r}")
    if spec.doc:
        out["description"] = spec.doc
    return out
