"""Playbook loading: every example loads; bad input gives the right error at the right line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.errors import SchemaError, WindowError, YamlSyntaxError
from orchestrator.playbook import load_playbook, parse_playbook
from orchestrator.playbook_spec import playbook_json_schema

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "playbooks").glob("*.yml"))

BASE = """\
name: t
package:
  name: p
  kind: msi
  source: x.msi
targets: [all]
"""


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_load(path: Path) -> None:
    pb = load_playbook(path)
    assert pb.name
    assert len(pb.sha256) == 64


def test_examples_validate_against_json_schema(tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    schema = playbook_json_schema()
    for path in EXAMPLES:
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)


def test_checked_in_schema_is_current() -> None:
    checked_in = json.loads((ROOT / "docs/schema/playbook.schema.json").read_text())
    assert checked_in == playbook_json_schema(), (
        "run: python -m orchestrator schema > docs/schema/playbook.schema.json"
    )


BAD = {
    "yaml-syntax": (BASE + "tiers: [[a, b]\n", YamlSyntaxError, 8, "YAML syntax error"),
    "unknown-top-key": (BASE + "tires: [[all]]\n", SchemaError, 7, "did you mean 'tiers'"),
    "unknown-nested-key": (
        BASE + "clusters:\n  c1:\n    stratgy: move-off\n",
        SchemaError,
        9,
        "did you mean 'strategy'",
    ),
    "bad-enum": (
        BASE + "clusters:\n  c1: {strategy: move-of}\n",
        SchemaError,
        8,
        "did you mean 'move-off'",
    ),
    "wrong-type-int": (
        BASE + "clusters:\n  c1: {strategy: drain, max_out: two}\n",
        SchemaError,
        8,
        "must be an integer",
    ),
    "bool-is-not-int": (
        BASE + "clusters:\n  c1: {strategy: drain, max_out: true}\n",
        SchemaError,
        8,
        "must be an integer",
    ),
    "missing-required": (
        "name: t\npackage:\n  name: p\n  source: x\ntargets: [all]\n",
        SchemaError,
        2,
        "missing the required key 'kind'",
    ),
    "targets-not-list": (BASE.replace("[all]", "all"), SchemaError, 6, "must be a list"),
    "duplicate-key": (BASE + "name: again\n", YamlSyntaxError, 7, "duplicate key 'name'"),
    "window-backwards": (
        BASE
        + "window:\n  start: '2026-01-02T10:00:00+00:00'\n  end: '2026-01-02T09:00:00+00:00'\n",
        WindowError,
        9,
        "ends",
    ),
    "window-bad-date": (
        BASE + "window: {start: 'tomorrow', duration: 2h}\n",
        SchemaError,
        7,
        "does not match",
    ),
    "window-end-and-duration": (
        BASE
        + "window: {start: '2026-01-02T10:00:00Z', end: '2026-01-02T11:00:00Z', duration: 1h}\n",
        WindowError,
        7,
        "exactly one",
    ),
    "level-without-patch-level": (
        BASE.replace("kind: msi", "kind: msi\n  level: 3"),
        SchemaError,
        5,
        "only for patch-level",
    ),
    "patch-level-without-level": (
        BASE.replace("kind: msi", "kind: patch-level"),
        SchemaError,
        3,
        "needs `level`",
    ),
    "unreadable-int": (BASE + "retries: {attempts: 0b_}\n", YamlSyntaxError, 7, "cannot read"),
    "nothing-to-do": ("name: t\n", SchemaError, 1, "needs a `package` or a `model_hotfix`"),
    "empty": ("", SchemaError, 1, "empty"),
    "not-a-mapping": ("- a\n- b\n", SchemaError, 1, "must be a mapping"),
    "lower-case-guid": (
        BASE
        + "build: {host: b, workdir: w, rtm: r, upgraded: u, output: o.msp,"
        + " product_code: '{e09b48b5-e141-427a-ab0c-d3605127224a}',"
        + " package_code: '{E09B48B5-E141-427A-AB0C-D3605127224A}',"
        + " patch_guid: '{E09B48B5-E141-427A-AB0C-D3605127224A}'}\n",
        SchemaError,
        7,
        "product_code",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_playbooks(case: str) -> None:
    text, error, line, fragment = BAD[case]
    with pytest.raises(error) as info:
        parse_playbook(text, "pb.yml")
    assert f"pb.yml:{line}" in str(info.value)
    assert fragment in str(info.value)


def test_window_duration_and_defaults() -> None:
    pb = parse_playbook(
        BASE + "window: {start: '2026-01-02T22:00:00+01:00', duration: 4h30m}\n", "x"
    )
    assert pb.window is not None
    assert (pb.window.end - pb.window.start).total_seconds() == 4.5 * 3600
    assert pb.reboot == "if-required"
    assert pb.package is not None and pb.package.reboot_codes == (3010, 1641)
