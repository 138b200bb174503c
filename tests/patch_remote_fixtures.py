"""Fixtures shared by the patch-level tests that reach a host over a real sshd: the sshd,
the kit's package built once, and scratch directories the test account can reach."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .test_patch_kit import Product, make_product

if TYPE_CHECKING:
    from .sshd import Sshd, SshdLab


@pytest.fixture(scope="module")
def server(lab: SshdLab) -> Sshd:
    """One sshd for the module."""
    return lab.sshd("127.0.0.2")


@pytest.fixture(scope="module")
def product() -> Iterator[Product]:
    """The kit's package (levels 0..5), built once."""
    root = Path(tempfile.mkdtemp(prefix="orch-patch-pkg-", dir="/tmp"))
    yield make_product(root)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def scratch(request: Any) -> Path:
    """A directory under /tmp the test account can reach."""
    path = Path(tempfile.mkdtemp(prefix="orch-patch-", dir="/tmp"))
    path.chmod(0o755)
    request.addfinalizer(lambda: shutil.rmtree(path, ignore_errors=True))
    return path
