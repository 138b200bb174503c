"""The catalogue of action kinds: the plan contract's core kinds, the model-based hotfix
kinds (S3) and the documented extras (docs/architecture.md). One place for planner, validator
and renderers to agree on."""

from __future__ import annotations

#: The plan contract's core kinds.
CORE_KINDS = frozenset(
    {
        "preflight",
        "stop_services",
        "start_services",
        "lb_out",
        "lb_in",
        "drain_node",
        "resume_node",
        "move_group",
        "stop_cluster_service",
        "start_cluster_service",
        "resources_offline",
        "resources_online",
        "install",
        "reboot",
        "upgrade_virtual_server",
        "verify",
    }
)
#: Model-based hotfix kinds (scenario S3).
S3_KINDS = frozenset(
    {
        "set_mode",
        "inactivate_unit",
        "activate_unit",
        "add_hotfix_to_base",
        "refresh_nodes",
        "add_hotfix_to_package",
        "remove_hotfix_from_package",
        "synchronize_instances",
        "apply_changes",
        "save_model",
        "remove_hotfix_from_base",
    }
)
#: The extras documented in docs/architecture.md.
EXTRA_KINDS = frozenset(
    {
        "hook",
        "uninstall",
        "barrier",
        "build_prepare",
        "build_admin_image",
        "build_pcp",
        "build_patch",
        "preserve_files",
        "restore_files",
        "extract_hotfix",
    }
)
#: Every kind a plan may contain.
KNOWN_KINDS = CORE_KINDS | S3_KINDS | EXTRA_KINDS

#: Action kinds that make a cluster node "out" or bring it back (docs/architecture.md).
SPAN_KINDS = frozenset(
    {
        "drain_node",
        "stop_cluster_service",
        "stop_services",
        "install",
        "reboot",
        "start_services",
        "start_cluster_service",
        "resume_node",
    }
)

#: Kinds that act on a failover cluster's nodes and groups.
CLUSTER_KINDS = frozenset(
    {
        "drain_node",
        "resume_node",
        "move_group",
        "stop_cluster_service",
        "start_cluster_service",
        "resources_offline",
        "resources_online",
        "upgrade_virtual_server",
    }
)
#: Kinds that take a host out of / back into its load-balanced pool.
POOL_KINDS = frozenset({"lb_out", "lb_in"})
#: Kinds after all of which a node counts as upgraded.
UPGRADE_KINDS = frozenset({"install", "reboot"})
