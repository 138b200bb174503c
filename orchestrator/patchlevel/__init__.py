"""Cumulative patch-level packages (SCENARIOS S2): the package format, building and
inspecting packages, the file consistency check, the patch level compatibility check, and the
all-or-nothing upgrade of a local installation to a level. See docs/patch-packages.md.

The checks are pure functions of a manifest and a *file facts* mapping
``{relative_path: FileFact | None}`` gathered in one call (:func:`gather_facts` locally; a
remote gatherer returns the same mapping in one round trip per host).
"""

from ._archive import CustomPackage, PatchPackage, open_custom, open_package
from ._build import build_custom_package, build_package
from ._check import VERDICTS, CheckReport, Finding, check_consistency, classify
from ._compat import CompatReport, LevelCompat, check_compatibility
from ._facts import FileFact, FileFacts, facts_from_json, facts_to_json, gather_facts
from ._manifest import CustomManifest, CustomVersion, FileRecord, LevelDelta, Manifest
from ._manifest_io import custom_from_json, manifest_from_json
from ._names import PackageName, package_file_name, parse_package_name
from ._state import (
    CommandCheck,
    InstallState,
    PidFileCheck,
    ServicesCheck,
    read_state,
    write_state,
)
from ._upgrade import UpgradeFailed, UpgradeRefused, UpgradeResult, upgrade

__all__ = [
    "VERDICTS",
    "CheckReport",
    "CommandCheck",
    "CompatReport",
    "CustomManifest",
    "CustomPackage",
    "CustomVersion",
    "FileFact",
    "FileFacts",
    "FileRecord",
    "Finding",
    "InstallState",
    "LevelCompat",
    "LevelDelta",
    "Manifest",
    "PackageName",
    "PatchPackage",
    "PidFileCheck",
    "ServicesCheck",
    "UpgradeFailed",
    "UpgradeRefused",
    "UpgradeResult",
    "build_custom_package",
    "build_package",
    "check_compatibility",
    "check_consistency",
    "classify",
    "custom_from_json",
    "facts_from_json",
    "facts_to_json",
    "gather_facts",
    "manifest_from_json",
    "open_custom",
    "open_package",
    "package_file_name",
    "parse_package_name",
    "read_state",
    "upgrade",
    "write_state",
]
