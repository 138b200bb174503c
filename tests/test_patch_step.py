"""The patch-level playbook step on a Linux host over SSH: a playbook with
``package.install_dir`` is planned for ``lx1`` (a real sshd on 127.0.0.2, the lab's test
account owning the installation) and run by the engine through the transport driver:
consistency and compatibility preflights, the upgrade, the level verify."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from orchestrator.engine._journal import Journal
from orchestrator.patchlevel import open_custom, open_package
from orchestrator.patchlevel import upgrade as local_upgrade
from orchestrator.patchlevel._state import read_state
from orchestrator.plan import Plan
from orchestrator.transports._ssh import SSHTransport
from orchestrator.workflow import plan_from_files

from .enginekit import run_over_transports
from .test_patch_kit import DAY, T0, Product, content, make_custom, snapshot, write
from .test_patch_remote import give, hashes, inventory, twins

if TYPE_CHECKING:
    from .sshd import Sshd, SshdLab

pytest_plugins = ["tests.sshd", "tests.patch_remote_fixtures"]


def plan_for(
    lab: SshdLab, server: Sshd, scratch: Path, pkg: Path, remote: Path, to: int, extra: str = ""
) -> Plan:
    """Plan a patch-level playbook for ``lx1`` (installation ``remote``, target ``to``;
    ``extra``: more package lines)."""
    book = scratch / "patch.yml"
    book.write_text(
        f"name: lx1 to patch level {to}\n"
        "package:\n  name: MPWEB427_106_5\n  kind: patch-level\n"
        f"  source: '{pkg}'\n  version: '4.2.7.106.{to}'\n  level: {to}\n"
        f"  install_dir: '{remote}'\n{extra}"
        "targets: [lx1]\n"
        "preflight:\n  - {check: patch-consistency, gate: host}\n"
        "  - {check: patch-compatibility, gate: host}\n"
        "reboot: never\n"
        f"verify:\n  - {{check: patch-level, params: {{expect: '4.2.7.106.{to}'}}}}\n"
    )
    return plan_from_files(book, inventory(lab, server, scratch))


def run(lab: SshdLab, server: Sshd, plan: Plan, journal: Journal) -> dict[str, tuple[str, str]]:
    """Run ``plan``: {action id: (state, message)}."""

    def connect(host: str) -> SSHTransport:
        return SSHTransport(
            host, server.address, port=server.port, user=lab.account.user,
            key_file=lab.account.key_file, known_hosts=lab.known_hosts(server),
        )  # fmt: skip

    return run_over_transports(plan, journal, connect, "patch-step")


def test_plan_carries_install_dir(
    lab: SshdLab, server: Sshd, product: Product, scratch: Path
) -> None:
    plan = plan_for(lab, server, scratch, product.package, Path("/opt/mpweb"), 4)
    params = {a.id.split("/", 1)[1]: dict(a.params) for a in plan.actions}
    assert all(p["install_dir"] == "/opt/mpweb" for p in params.values()), params
    assert params["preflight/patch-compatibility"]["level"] == 4
    assert params["preflight/patch-consistency"]["source"] == str(product.package)
    assert params["install"]["level"] == 4 and params["install"]["package_kind"] == "patch-level"
    assert params["verify/patch-level"]["expect"] == "4.2.7.106.4"


def test_patch_step_upgrades_then_finds_it_in_effect(
    lab: SshdLab, server: Sshd, product: Product, scratch: Path, tmp_path: Path
) -> None:
    local, remote = twins(lab, scratch, product.package, 1)
    with open_package(product.package) as pkg:
        local_upgrade(pkg, local, 5)
    plan = plan_for(lab, server, scratch, product.package, remote, 5)
    journal = Journal(tmp_path / "journal.sqlite")
    first = run(lab, server, plan, journal)
    assert {s for s, _ in first.values()} == {"done"}, first
    assert hashes(remote) == hashes(local)
    state = read_state(remote)
    assert state is not None and state.level == 5
    second = run(lab, server, plan, journal)
    install = next(a.id for a in plan.actions if a.kind == "install")
    assert second[install][0] == "skipped", second
    assert {s for a, (s, _) in second.items() if a != install} == {"done"}, second


def test_incompatible_target_fails_at_the_compatibility_preflight(
    lab: SshdLab, server: Sshd, product: Product, scratch: Path, tmp_path: Path
) -> None:
    _, remote = twins(lab, scratch, product.package, 1)
    write(remote / "web/index.asp", b"my own index\n", T0 + 400 * DAY)  # levels 2, 5 change it
    give(lab, remote)
    before, state = snapshot(remote), (remote / ".orchestrator/patchlevel.json").read_bytes()
    plan = plan_for(lab, server, scratch, product.package, remote, 5)
    states = run(lab, server, plan, Journal(tmp_path / "journal.sqlite"))
    compat = next(v for a, v in states.items() if a.endswith("patch-compatibility"))
    assert compat[0] == "failed" and "web/index.asp needs its customization updated" in compat[1]
    assert "compatible level(s): 1" not in compat[1]
    install = next(v for a, v in states.items() if a.endswith("/install"))
    assert install[0] != "done"
    assert snapshot(remote) == before
    assert (remote / ".orchestrator/patchlevel.json").read_bytes() == state


def test_earlier_version_file_fails_the_consistency_preflight(
    lab: SshdLab, server: Sshd, product: Product, scratch: Path, tmp_path: Path
) -> None:
    _, remote = twins(lab, scratch, product.package, 1)
    write(remote / "conf/old.cfg", b"older than old\n", T0 - DAY)
    give(lab, remote)
    before = snapshot(remote)
    plan = plan_for(lab, server, scratch, product.package, remote, 3)
    states = run(lab, server, plan, Journal(tmp_path / "journal.sqlite"))
    check = next(v for a, v in states.items() if a.endswith("patch-consistency"))
    assert check[0] == "failed", states
    assert "conf/old.cfg from an earlier product version" in check[1]
    assert snapshot(remote) == before


def test_customization_package_is_reapplied_by_the_step(
    lab: SshdLab, server: Sshd, product: Product, scratch: Path, tmp_path: Path
) -> None:
    local, remote = twins(lab, scratch, product.package, 1)
    for root in (local, remote):
        write(root / "web/index.asp", b"my own index\n", T0 + 400 * DAY)
    give(lab, remote)
    custom = make_custom(
        tmp_path, {5: {"web/index.asp": b"my index for level 5\n"}}, T0 + 900 * DAY
    )
    with open_package(product.package) as pkg, open_custom(custom, pkg.manifest) as cpkg:
        local_upgrade(pkg, local, 5, custom=cpkg)
    extra = f"  customization: '{custom}'\n"
    plan = plan_for(lab, server, scratch, product.package, remote, 5, extra)
    params = {a.id.split("/", 1)[1]: dict(a.params) for a in plan.actions}
    assert params["install"]["customization"] == str(custom)
    assert params["preflight/patch-compatibility"]["customization"] == str(custom)
    states = run(lab, server, plan, Journal(tmp_path / "journal.sqlite"))
    assert {s for s, _ in states.values()} == {"done"}, states
    assert (remote / "web/index.asp").read_bytes() == b"my index for level 5\n"
    assert hashes(remote) == hashes(local)


def test_force_lets_the_step_break_customizations(
    lab: SshdLab, server: Sshd, product: Product, scratch: Path, tmp_path: Path
) -> None:
    _, remote = twins(lab, scratch, product.package, 1)
    write(remote / "web/index.asp", b"my own index\n", T0 + 400 * DAY)
    give(lab, remote)
    plan = plan_for(lab, server, scratch, product.package, remote, 5, "  force: true\n")
    states = run(lab, server, plan, Journal(tmp_path / "journal.sqlite"))
    assert {s for s, _ in states.values()} == {"done"}, states
    assert (remote / "web/index.asp").read_bytes() == content("web/index.asp", 5)
    log = (remote / "install.log").read_text()
    assert "forced: these files lose their customizations: web/index.asp" in log


def test_install_dir_is_for_patch_level_packages_only() -> None:
    from orchestrator.errors import SchemaError
    from orchestrator.playbook import parse_playbook

    text = (
        "name: x\npackage: {name: a, kind: msi, source: a.msi, install_dir: /opt/a}\n"
        "targets: [lx1]\n"
    )
    with pytest.raises(SchemaError, match="install_dir"):
        parse_playbook(text, "pb.yml")
