"""Default per-kind estimates and timeouts (seconds); playbooks override them per kind."""

from __future__ import annotations

from collections.abc import Mapping

#: Estimated duration of each action kind, in seconds.
ESTIMATES: dict[str, int] = {
    "preflight": 30,
    "hook": 60,
    "preserve_files": 30,
    "restore_files": 30,
    "stop_services": 60,
    "start_services": 60,
    "lb_out": 30,
    "lb_in": 30,
    "drain_node": 180,
    "resume_node": 60,
    "move_group": 120,
    "stop_cluster_service": 60,
    "start_cluster_service": 90,
    "resources_offline": 60,
    "resources_online": 90,
    "uninstall": 180,
    "reboot": 300,
    "upgrade_virtual_server": 600,
    "verify": 30,
    "barrier": 0,
    "extract_hotfix": 60,
    "set_mode": 30,
    "inactivate_unit": 60,
    "activate_unit": 120,
    "add_hotfix_to_base": 60,
    "remove_hotfix_from_base": 60,
    "refresh_nodes": 120,
    "add_hotfix_to_package": 60,
    "remove_hotfix_from_package": 60,
    "synchronize_instances": 300,
    "apply_changes": 600,
    "save_model": 30,
    "build_prepare": 60,
    "build_admin_image": 300,
    "build_pcp": 30,
    "build_patch": 600,
}

#: Estimated install duration per package kind.
INSTALL_ESTIMATES: dict[str, int] = {
    "service-pack": 1800,
    "exe": 600,
    "patch-level": 600,
    "msi": 300,
    "msp": 300,
    "hotfix": 300,
}

#: Timeouts are this many times the estimate, and never below the floor.
TIMEOUT_FACTOR = 3
TIMEOUT_FLOOR_S = 300


def estimate_for(kind: str, overrides: Mapping[str, int], package_kind: str | None) -> int:
    """The estimate for ``kind``: the playbook's override, else the default."""
    if kind in overrides:
        return int(overrides[kind])
    if kind == "install":
        return INSTALL_ESTIMATES.get(package_kind or "exe", 600)
    return ESTIMATES.get(kind, 60)


def timeouts(
    kinds: set[str], overrides: Mapping[str, int], package_kind: str | None
) -> dict[str, int]:
    """Per-kind timeouts of the ``kinds`` a plan uses: the playbook's, else a multiple of the
    estimate, never below a floor."""
    out: dict[str, int] = {}
    for kind in sorted(kinds - {"barrier"}):
        est = estimate_for(kind, {}, package_kind)
        out[kind] = int(
            overrides.get(
                kind, overrides.get("default", max(TIMEOUT_FLOOR_S, TIMEOUT_FACTOR * est))
            )
        )
    return out
