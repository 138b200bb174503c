"""The playbook format as one declarative spec: checked on load, exported as JSON Schema.

``docs/schema/playbook.schema.json`` is generated from :data:`PLAYBOOK` by
``python -m orchestrator schema`` (a test keeps the checked-in copy identical).
"""

from __future__ import annotations

from typing import Any

from .schema import AnyValue, Bool, Field, Int, ListOf, MapOf, Num, Obj, OneOf, Str, to_json_schema
from .service_names import SERVICE_NAME, SERVICE_NAME_RULE

PACKAGE_KINDS = ("msi", "msp", "exe", "service-pack", "patch-level", "hotfix")
STRATEGIES = ("move-off", "passive-first", "consolidate", "active-first", "drain")
POOL_MODES = ("all-at-once", "rolling")
REBOOT_POLICIES = ("if-required", "always", "never")
GATES = ("run", "host")
ISO_DATETIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?(\.\d+)?(Z|[+-]\d\d:\d\d)"
DURATION = r"(\d+h)?(\d+m)?(\d+s)?"

_codes = ListOf(Int(), doc="process exit codes")
_service = Str(
    pattern=SERVICE_NAME,
    rule=SERVICE_NAME_RULE,
    doc="a service name (on Windows also a display name); see docs/playbook.md",
)
_selectors = ListOf(
    Str(doc="a host, an inventory group, or role:NAME"),
    min_items=1,
    doc="hosts, inventory groups or role:NAME selectors",
)
_check = Obj(
    {
        "check": Field(Str(), required=True, doc="check name, e.g. backup, disk-space, version"),
        "gate": Field(
            Str(enum=GATES),
            doc="run: before any change (default); host: just before the host's own work",
        ),
        "hosts": Field(_selectors, doc="where the check runs (default: every target)"),
        "params": Field(MapOf(AnyValue()), doc="the check's own parameters"),
    },
    doc="a check",
)
_hook = Obj(
    {
        "name": Field(Str(), required=True),
        "run": Field(Str(), required=True, doc="command or script run on the host"),
        "hosts": Field(_selectors, doc="where the hook runs (default: every target)"),
    }
)
_component = Obj(
    {
        "name": Field(Str(), required=True),
        "kind": Field(Str(enum=PACKAGE_KINDS), required=True),
        "source": Field(Str(), required=True),
        "version": Field(Str()),
        "hosts": Field(_selectors, required=True, doc="the targets that get this component"),
        "when": Field(
            Str(enum=("before", "after")), doc="before or after the main package (default after)"
        ),
        "reboot": Field(Bool(), doc="reboot after this component (a prerequisite hotfix)"),
        "arguments": Field(Str()),
    },
    doc="a separate component with its own installer (e.g. the ADC) or a prerequisite hotfix",
)

PACKAGE = Obj(
    {
        "name": Field(Str(), required=True),
        "kind": Field(Str(enum=PACKAGE_KINDS), required=True),
        "source": Field(Str(), required=True, doc="path or UNC share of the installer/package"),
        "version": Field(Str(), doc="version string installed"),
        "arguments": Field(Str(), doc="extra command-line arguments"),
        "success_codes": Field(_codes, doc="exit codes meaning success (default [0])"),
        "reboot_codes": Field(
            _codes, doc="exit codes meaning success + reboot (default [3010, 1641])"
        ),
        "level": Field(Int(minimum=1), doc="patch-level packages: the level to upgrade to"),
        "install_dir": Field(
            Str(pattern=r".+"),
            doc="patch-level packages: the installation directory on each host",
        ),
        "customization": Field(
            Str(pattern=r".+"),
            doc="patch-level packages with install_dir: the customization package (a path the "
            "controller reads) whose customizations the upgrade re-applies",
        ),
        "force": Field(
            Bool(),
            doc="patch-level packages with install_dir: upgrade even if customizations break "
            "(default false: the compatibility preflight and the upgrade refuse)",
        ),
        "registry_key": Field(
            Str(pattern=r".+"),
            doc="patch-level packages with install_dir, Windows hosts: the key holding "
            "PatchLevel (default HKLM:\\SOFTWARE\\<Product>)",
        ),
        "product_code": Field(Str(pattern=r"\{[0-9A-Fa-f-]{36}\}")),
        "properties": Field(MapOf(OneOf([Str(), Int()])), doc="msiexec properties"),
        "replaces": Field(
            Obj({"name": Field(Str(), required=True), "product_code": Field(Str())}),
            doc="an older version removed before the install",
        ),
        "preserve": Field(ListOf(Str()), doc="files carried over the install (e.g. Local.map)"),
        "components": Field(ListOf(_component)),
    },
    doc="what is applied to the targets",
)

CLUSTER = Obj(
    {
        "strategy": Field(Str(enum=STRATEGIES), required=True),
        "node_order": Field(ListOf(Str(), min_items=1), doc="explicit order of the nodes"),
        "max_out": Field(Int(minimum=1), doc="nodes out at once (default 1)"),
        "upgrade_virtual_servers": Field(
            Bool(), doc="run Upgrade EVS (default: service packs under move-off)"
        ),
        "failback": Field(Bool(), doc="drain: resume with failback (default true)"),
        "verify_failover": Field(
            Bool(), doc="after all nodes: verify groups fail over (default true)"
        ),
    }
)

MODEL_HOTFIX = Obj(
    {
        "system": Field(Str(), required=True, doc="inventory group holding orchestrator_system"),
        "operation": Field(Str(enum=("install", "remove")), required=True),
        "hotfix": Field(Str(), required=True),
        "base": Field(Str(), required=True, doc="the base installation the hotfix belongs to"),
        "packages": Field(
            ListOf(Str(), min_items=1), required=True, doc="software packages it touches"
        ),
        "source": Field(Str(), doc="hotfix archive (install)"),
        "apply": Field(
            Str(enum=("all-hosts", "per-node")), doc="how changes are applied (default all-hosts)"
        ),
    },
    doc="scenario S3: a hotfix added to / removed from a system model",
)

BUILD = Obj(
    {
        "host": Field(Str(), required=True, doc="the build host (Windows Installer SDK)"),
        "workdir": Field(Str(), required=True),
        "rtm": Field(Str(), required=True, doc="the RTM .msi"),
        "upgraded": Field(Str(), required=True, doc="the updated (service pack) .msi"),
        "product_code": Field(Str(pattern=r"\{[0-9A-F-]{36}\}"), required=True, doc="upper case"),
        "package_code": Field(
            Str(pattern=r"\{[0-9A-F-]{36}\}"), required=True, doc="new, upper case"
        ),
        "patch_guid": Field(Str(pattern=r"\{[0-9A-F-]{36}\}"), required=True, doc="upper case"),
        "family": Field(
            Str(pattern=r"[A-Za-z0-9_]{1,8}"), doc="ImageFamilies.Family (default Family1)"
        ),
        "output": Field(Str(pattern=r"[^\\/]+\.msp"), required=True, doc="the .msp file name"),
    },
    doc="scenario S4: build an .msp on a build host before applying it",
)

PLAYBOOK = Obj(
    {
        "name": Field(Str(), required=True),
        "description": Field(Str()),
        "acknowledge": Field(
            ListOf(Str()), doc="statements the operator confirms, e.g. release-notes-read"
        ),
        "package": Field(PACKAGE),
        "targets": Field(_selectors, doc="hosts that get the package"),
        "tiers": Field(
            ListOf(_selectors, min_items=1), doc="ordered tiers; all of a tier before the next"
        ),
        "pools": Field(
            MapOf(
                Obj(
                    {
                        "mode": Field(Str(enum=POOL_MODES), required=True),
                        "max_out": Field(Int(minimum=1)),
                    }
                )
            )
        ),
        "clusters": Field(MapOf(CLUSTER)),
        "cluster_default": Field(
            CLUSTER, doc="the policy of targeted clusters not named in `clusters`"
        ),
        "fleets": Field(
            MapOf(
                Obj(
                    {
                        "serial": Field(
                            OneOf(
                                [
                                    Int(minimum=1),
                                    Str(pattern=r"\d+%"),
                                    ListOf(
                                        OneOf([Int(minimum=1), Str(pattern=r"\d+%")]), min_items=1
                                    ),
                                ]
                            ),
                            required=True,
                        )
                    }
                )
            )
        ),
        "preflight": Field(ListOf(OneOf([Str(), _check]))),
        "interfering_services": Field(
            ListOf(_service), doc="stopped before the install, restored after"
        ),
        "services": Field(
            ListOf(_service), doc="the product's own services, stopped for the install"
        ),
        "hooks": Field(Obj({"pre": Field(ListOf(_hook)), "post": Field(ListOf(_hook))})),
        "reboot": Field(Str(enum=REBOOT_POLICIES), doc="default if-required"),
        "verify": Field(ListOf(OneOf([Str(), _check]))),
        "failure_budget": Field(
            Obj(
                {
                    "max_failures": Field(Int(minimum=0), doc="failed actions"),
                    "max_failed_hosts": Field(Int(minimum=0), doc="failed hosts"),
                    "max_percent": Field(Num(minimum=0), doc="failed hosts, % of the run's"),
                }
            ),
            doc="any of the limits; exceeded when a count goes above it (docs/engine.md)",
        ),
        "retries": Field(
            Obj(
                {
                    "attempts": Field(Int(minimum=1)),
                    "backoff_s": Field(Num(minimum=0)),
                    "max_backoff_s": Field(Num(minimum=0)),
                }
            )
        ),
        "timeouts": Field(MapOf(Int(minimum=1)), doc="seconds per action kind, plus `default`"),
        "estimates": Field(
            MapOf(Int(minimum=0)), doc="seconds per action kind (overrides the defaults)"
        ),
        "window": Field(
            Obj(
                {
                    "start": Field(
                        Str(pattern=ISO_DATETIME), required=True, doc="ISO 8601 with offset"
                    ),
                    "end": Field(Str(pattern=ISO_DATETIME)),
                    "duration": Field(Str(pattern=DURATION), doc="e.g. 4h30m, instead of end"),
                }
            )
        ),
        "model_hotfix": Field(MODEL_HOTFIX),
        "build": Field(BUILD),
    },
    doc="An orchestrator playbook: what to apply, where, and the rules that keep services up.",
)


def playbook_json_schema() -> dict[str, Any]:
    """The JSON Schema of playbooks (for editors)."""
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://orchestrator.invalid/schema/playbook.schema.json",
        "title": "orchestrator playbook",
    }
    schema.update(to_json_schema(PLAYBOOK))
    return schema
