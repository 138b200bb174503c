"""The inventory digest: stable, location-independent, and changed by any source."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from orchestrator.inventory import load_inventory

FIXTURES = Path(__file__).parent / "fixtures" / "inventory"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "inv"
    shutil.copytree(FIXTURES / "directory", target)
    return target


def test_stable_and_independent_of_location(copy: Path, tmp_path: Path) -> None:
    first = load_inventory(copy)
    assert load_inventory(copy).sha256 == first.sha256
    moved = tmp_path / "elsewhere" / "inv"
    shutil.copytree(copy, moved)
    assert load_inventory(moved).sha256 == first.sha256
    assert len(first.sha256) == 64 and int(first.sha256, 16) >= 0


@pytest.mark.parametrize(
    "source",
    [
        "01-web.yml",
        "02-db.ini",
        "sub/03-extra.yml",
        "group_vars/web.yml",
        "host_vars/db1/20-second.yaml",
        "host_vars/db1/30-vault",
    ],
)
def test_any_source_change_changes_it(copy: Path, source: str) -> None:
    before = load_inventory(copy).sha256
    with (copy / source).open("a") as handle:
        handle.write("\n# edited\n")
    assert load_inventory(copy).sha256 != before


def test_new_vars_file_changes_it(copy: Path) -> None:
    before = load_inventory(copy)
    (copy / "host_vars" / "web1.yml").write_text("x: 1\n")
    after = load_inventory(copy)
    assert after.sha256 != before.sha256
    assert copy / "host_vars" / "web1.yml" in after.sources


def test_renaming_a_source_changes_it(copy: Path) -> None:
    before = load_inventory(copy).sha256
    (copy / "sub" / "03-extra.yml").rename(copy / "sub" / "04-extra.yml")
    assert load_inventory(copy).sha256 != before


def test_ignored_files_do_not_count(copy: Path) -> None:
    before = load_inventory(copy)
    (copy / "README.md").write_text("changed\n")
    (copy / "group_vars" / "not_a_group.yml").write_text("x: 1\n")
    after = load_inventory(copy)
    assert after.sha256 == before.sha256
    assert after.sources == before.sources


def test_sources_are_sorted_and_complete(copy: Path) -> None:
    inventory = load_inventory(copy)
    assert list(inventory.sources) == sorted(inventory.sources)
    assert all(p.is_file() for p in inventory.sources)
