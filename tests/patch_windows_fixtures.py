"""Fixtures shared by the Windows patch-level tests: ``web1``, an emulated Windows machine
(``tests.psmini``) behind the WS-Management test server, with an inventory that reaches it
over WinRM, and helpers to drive ``orchestrator patch`` and compare trees."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cli import main

from .psmini import PatchHostRunner, Service, WindowsHost
from .test_patch_kit import DAY, T0, Product, install_level, make_product, snapshot, write
from .wsman import InterpreterEmulator, WSManServer

INSTALL = "C:\\Program Files\\MPWEB"
KEY = "HKLM:\\SOFTWARE\\MPWEB"
PASSWORD = "W1n-S3cret"


@pytest.fixture(scope="module")
def windows_product(tmp_path_factory: pytest.TempPathFactory) -> Product:
    """The kit's package (levels 0..5), built once."""
    return make_product(tmp_path_factory.mktemp("windows-pkg"))


class Web1:
    """The emulated ``web1``: the machine, its runner, the server, and an inventory."""

    def __init__(self, tmp: Path, product: Product) -> None:
        self.tmp = tmp
        self.product = product
        self.host = WindowsHost(tmp / "web1")
        self.host.services["W3SVC"] = Service(
            "W3SVC", "World Wide Web Publishing Service", "Running"
        )
        self.host.services["MPWEB"] = Service("MPWEB", "MeetingPlace Web Conferencing", "Running")
        self.runner = PatchHostRunner(self.host)
        self.server = WSManServer(InterpreterEmulator(self.runner), user="orch", password=PASSWORD)
        self.inventory = tmp / "inventory.yml"

    def start(self) -> None:
        self.server.start()
        self.inventory.write_text(
            "all:\n  hosts:\n    web1:\n      ansible_host: 127.0.0.1\n"
            f"      ansible_port: {self.server.port}\n      ansible_user: orch\n"
            "      ansible_connection: winrm\n      ansible_winrm_transport: basic\n"
            "      ansible_winrm_scheme: http\n      orchestrator_allow_unencrypted: true\n"
        )

    @property
    def root(self) -> Path:
        """The installation folder, as a local path."""
        return self.host.path(INSTALL)

    def install(self, level: int, record: bool = True) -> Path:
        """A pristine installation of ``level`` on web1 (the level in the registry when
        ``record``) and its local twin; returns the twin."""
        twin = self.tmp / "twin"
        install_level(self.product.package, twin, level, record=record)
        shutil.copytree(twin, self.root, copy_function=shutil.copy2, ignore=state_dir)
        if record:
            self.host.reg_set(KEY, "PatchLevel", level, "DWord")
        return twin

    def services_running(self) -> None:
        for name, service in list(self.host.services.items()):
            self.host.services[name] = Service(service.name, service.display_name, "Running")

    def stop_services(self) -> None:
        for name in list(self.host.services):
            service = self.host.services[name]
            self.host.services[name] = Service(service.name, service.display_name, "Stopped")

    def scripts(self, marker: str) -> list[str]:
        return [s for s in self.runner.scripts if marker in s]


def state_dir(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if n == ".orchestrator"]


@pytest.fixture
def web1(
    tmp_path: Path, windows_product: Product, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Web1]:
    monkeypatch.setenv("ORCHESTRATOR_PASSWORD", PASSWORD)
    machine = Web1(tmp_path, windows_product)
    machine.start()
    try:
        yield machine
    finally:
        machine.server.stop()


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``orchestrator ...`` in this process: (status, stdout, stderr)."""
    capsys.readouterr()
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def remote_args(web1: Web1, command: str, *more: str) -> list[str]:
    pkg = str(web1.product.package)
    return ["patch", command, pkg, "--install", INSTALL, "--host", "web1",
            "-i", str(web1.inventory), *more]  # fmt: skip


def local_args(web1: Web1, twin: Path, command: str, *more: str) -> list[str]:
    return ["patch", command, str(web1.product.package), "--install", str(twin), *more]


def findings(doc: dict[str, Any]) -> list[Any]:
    return sorted(json.dumps(f, sort_keys=True) for f in doc["findings"])


def hashes(root: Path) -> dict[str, tuple[bytes | None, int]]:
    """Content and whole-second mtime of every product file (not modes: Windows has none)."""
    return {
        rel.replace("\\", "/"): (data, mtime // 10**9)
        for rel, (data, _, mtime) in snapshot(root).items()
        if data is not None
    }


def ntfs(root: Path) -> dict[str, tuple[bytes | None, int]]:
    """Every product file and folder: content and mtime in NTFS ticks (100 ns, the
    resolution Windows keeps; the fixtures' trees have nanoseconds)."""
    return {rel: (data, mtime // 100) for rel, (data, _, mtime) in snapshot(root).items()}


def customize(root: Path) -> None:
    """A customized template, and a file from an earlier product version."""
    write(root / "web/index.asp", b"my own index\n", T0 + 400 * DAY)
    write(root / "conf/old.cfg", b"older than old\n", T0 - DAY)
