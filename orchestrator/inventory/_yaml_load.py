"""YAML loading for Ansible inventories: :mod:`orchestrator.sourcemap` plus Ansible's tags.

Ansible variable files may hold ``!vault`` values (encrypted secrets) and ``!unsafe`` strings;
a plain YAML loader rejects both. Here a ``!vault`` value becomes an opaque
:class:`VaultValue` (never decrypted, never printed) and ``!unsafe`` a plain string. A whole
file encrypted with ``ansible-vault`` is recognised so the caller can skip it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from ..errors import Location, YamlSyntaxError
from ..sourcemap import _Loader as _LocatingLoader

VAULT_HEADER = "$ANSIBLE_VAULT;"


@dataclass(frozen=True)
class VaultValue:
    """An ``ansible-vault`` encrypted value: kept opaque, its ciphertext never shown."""

    ciphertext: str = field(repr=False)

    def __str__(self) -> str:
        return "<vault-encrypted>"


class _Loader(_LocatingLoader):
    """The located loader of :mod:`orchestrator.sourcemap`, accepting ``!vault``/``!unsafe``."""


def _vault(loader: yaml.SafeLoader, node: yaml.Node) -> VaultValue:
    return VaultValue(str(loader.construct_scalar(node)))  # type: ignore[arg-type]


def _unsafe(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    return loader.construct_object(node, deep=True)


_Loader.add_constructor("!vault", _vault)
_Loader.add_constructor("!unsafe", _unsafe)


def is_vault_file(text: str) -> bool:
    """True for a whole file encrypted with ``ansible-vault``."""
    return text.lstrip().startswith(VAULT_HEADER)


def load_yaml_text(text: str, filename: str) -> Any:
    """Parse YAML with locations; syntax errors become :class:`YamlSyntaxError` (file:line)."""
    loader = _Loader(text)
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
