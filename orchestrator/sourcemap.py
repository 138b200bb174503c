"""YAML loading that remembers where every mapping key and list item was written.

Mappings load as :class:`LocMap` and sequences as :class:`LocList`; both are plain ``dict`` /
``list`` subclasses that also know their file and the line of each key or item, so that later
checks can say ``inventory/hosts.yml:12: unknown host 'nod-b'``. Duplicate keys, which PyYAML
silently accepts, are an error here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import Location, YamlSyntaxError


class LocMap(dict[Any, Any]):
    """A mapping loaded from a file, with the line of each key."""

    file: str = "<input>"
    line: int | None = None
    key_lines: dict[Any, int]

    def where(self, key: Any = None) -> Location:
        """The location of ``key`` (or of the mapping itself)."""
        lines = getattr(self, "key_lines", {})
        return Location(self.file, lines.get(key, self.line) if key is not None else self.line)


class LocList(list[Any]):
    """A sequence loaded from a file, with the line of each item."""

    file: str = "<input>"
    line: int | None = None
    item_lines: list[int]

    def where(self, index: int | None = None) -> Location:
        """The location of item ``index`` (or of the sequence itself)."""
        lines = getattr(self, "item_lines", [])
        if index is not None and 0 <= index < len(lines):
            return Location(self.file, lines[index])
        return Location(self.file, self.line)


def where(value: Any, key: Any = None, default_file: str = "<input>") -> Location:
    """Best-known location of ``value`` (a LocMap/LocList) or of ``key`` inside it."""
    if isinstance(value, LocMap):
        return value.where(key)
    if isinstance(value, LocList):
        return value.where(key if isinstance(key, int) else None)
    return Location(default_file)


_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LocatingLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """Safe loader (libyaml's C parser when available) building LocMap/LocList and rejecting
    duplicate keys. Subclass it to add tags (the inventory adds Ansible's ``!vault``)."""

    filename = "<input>"

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """PyYAML's constructors can fail on odd scalars (``0b_`` resolves as an int and then
        fails to convert); report that at the node's line instead of a traceback."""
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, OverflowError) as exc:
            raise YamlSyntaxError(
                f"cannot read the value {getattr(node, 'value', '')!r}: {exc}",
                Location(self.filename, node.start_mark.line + 1),
            ) from None

    def construct_located_mapping(self, node: yaml.MappingNode) -> LocMap:
        self.flatten_mapping(node)
        result = LocMap()
        result.file = self.filename
        result.line = node.start_mark.line + 1
        result.key_lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError as exc:
                raise YamlSyntaxError(
                    "a mapping key must be a plain value, not a list or mapping",
                    Location(self.filename, key_node.start_mark.line + 1),
                ) from exc
            line = key_node.start_mark.line + 1
            if key in result:
                first = result.key_lines[key]
                raise YamlSyntaxError(
                    f"duplicate key {key!r} (first written on line {first})",
                    Location(self.filename, line),
                )
            result[key] = self.construct_object(value_node, deep=True)
            result.key_lines[key] = line
        return result

    def construct_located_sequence(self, node: yaml.SequenceNode) -> LocList:
        result = LocList(self.construct_object(child, deep=True) for child in node.value)
        result.file = self.filename
        result.line = node.start_mark.line + 1
        result.item_lines = [child.start_mark.line + 1 for child in node.value]
        return result


LocatingLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, LocatingLoader.construct_located_mapping
)
LocatingLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, LocatingLoader.construct_located_sequence
)


def load_yaml_text(
    text: str, filename: str, loader_class: type[LocatingLoader] = LocatingLoader
) -> Any:
    """Parse YAML ``text``; syntax errors become :class:`YamlSyntaxError` with file and line."""
    loader = loader_class(text)
    loader.filename = filename
    try:
        return loader.get_single_data()
    except YamlSyntaxError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        what = exc.problem or exc.context or "invalid YAML"
        raise YamlSyntaxError(
            f"YAML syntax error: {what}", Location(filename, line, column)
        ) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(f"YAML error: {exc}", Location(filename)) from None
    finally:
        loader.dispose()


def read_text(path: Path) -> str:
    """Read a UTF-8 input file; unreadable or non-UTF-8 files are an :class:`InputError`."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise YamlSyntaxError("file not found", Location(str(path))) from None
    except IsADirectoryError:
        raise YamlSyntaxError("is a directory, expected a file", Location(str(path))) from None
    except UnicodeDecodeError as exc:
        raise YamlSyntaxError(f"not UTF-8 text (byte {exc.start})", Location(str(path))) from None
    except OSError as exc:
        raise YamlSyntaxError(f"cannot read: {exc.strerror}", Location(str(path))) from None


def load_yaml(path: Path) -> Any:
    """Load a YAML file with locations."""
    return load_yaml_text(read_text(path), str(path))
