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

from .. import sourcemap

VAULT_HEADER = "$ANSIBLE_VAULT;"


@dataclass(frozen=True)
class VaultValue:
    """An ``ansible-vault`` encrypted value: kept opaque, its ciphertext never shown."""

    ciphertext: str = field(repr=False)

    def __str__(self) -> str:
        return "<vault-encrypted>"


class _Loader(sourcemap.LocatingLoader):
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
    return sourcemap.load_yaml_text(text, filename, _Loader)
