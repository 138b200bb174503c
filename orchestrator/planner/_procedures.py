"""Scenario-specific procedures: a model-based hotfix (S3) and an MSI patch build (S4)."""

from __future__ import annotations

from typing import Any

from ..errors import SchemaError, UnknownReferenceError
from ..facts import Facts, System
from ..playbook import Playbook
from ..schema import did_you_mean
from ._builder import Builder, Ids
from ._host import Outage


def model_hotfix(b: Builder, pb: Playbook, facts: Facts, after: Ids, outages: list[Outage]) -> Ids:
    """Install or remove a hotfix through the system model (SCENARIOS S3), as one chain on the
    system's admin host: the administration tool is a single session, never run in parallel."""
    spec = pb.model_hotfix
    assert spec is not None and pb.model_hotfix_where is not None
    where = pb.model_hotfix_where
    name = spec["system"]
    if name not in facts.systems:
        raise UnknownReferenceError(
            f"unknown system {name!r}{did_you_mean(name, list(facts.systems))} "
            "(a group with orchestrator_system)",
            where,
        )
    system = facts.systems[name]
    hf, base = spec["hotfix"], spec["base"]
    if base not in system.base_installations:
        raise SchemaError(
            f"base {base!r} is not a base installation of {name}"
            f"{did_you_mean(base, system.base_installations)}",
            where,
        )
    touched = _touched(system, spec["packages"], base, where)
    units = [u for u in system.units if u.name in {t[0] for t in touched}]
    host = system.admin_host or system.nodes[0]

    def add(suffix: str, kind: str, title: str, **params: Any) -> None:
        nonlocal after
        after = b.chain(
            f"{name}/{suffix}",
            kind,
            after,
            host=host,
            params={"system": name, **params},
            title=title,
        )

    def per_unit_changes(verb: str) -> None:
        kind = f"{verb}_hotfix_{'to' if verb == 'add' else 'from'}_package"
        for unit in units:
            for u, pkg in touched:
                if u == unit.name:
                    add(
                        f"{verb}/{unit.name}/{pkg}",
                        kind,
                        f"{verb.capitalize()} {hf} {'to' if verb == 'add' else 'from'} {pkg} "
                        f"on {unit.name}",
                        unit=unit.name,
                        package=pkg,
                        hotfix=hf,
                    )
            add(
                f"synchronize/{unit.name}",
                "synchronize_instances",
                f"Synchronize instances of {unit.name} ({', '.join(unit.nodes)})",
                unit=unit.name,
            )

    def apply_changes() -> None:
        if spec.get("apply", "all-hosts") == "all-hosts":
            add(
                "apply_changes",
                "apply_changes",
                "Apply all changes to all hosts",
                scope="all-hosts",
            )
        else:
            for node in sorted({n for u in units for n in u.nodes}, key=system.nodes.index):
                add(f"apply_changes/{node}", "apply_changes", f"Apply changes on {node}", node=node)

    if spec["operation"] == "install":
        add(
            "extract_hotfix",
            "extract_hotfix",
            f"Extract {hf} into Install\\hotfixes",
            hotfix=hf,
            source=spec.get("source", ""),
        )
        for unit in units:
            add(
                f"inactivate/{unit.name}",
                "inactivate_unit",
                f"Inactivate {unit.name} (Monitoring mode)",
                unit=unit.name,
            )
        first_inactive = f"{name}/inactivate/{units[0].name}"
        add("set_mode/deployment", "set_mode", "Switch to Deployment mode", mode="deployment")
        add(
            "add_to_base",
            "add_hotfix_to_base",
            f"Add {hf} to base installation {base}",
            hotfix=hf,
            base=base,
        )
        add("refresh_nodes", "refresh_nodes", "Refresh all nodes")
        per_unit_changes("add")
        apply_changes()
        add("set_mode/monitoring", "set_mode", "Switch back to Monitoring mode", mode="monitoring")
    else:
        add("set_mode/deployment", "set_mode", "Switch to Deployment mode", mode="deployment")
        for unit in units:
            add(
                f"inactivate/{unit.name}",
                "inactivate_unit",
                f"Inactivate {unit.name}",
                unit=unit.name,
            )
        first_inactive = f"{name}/inactivate/{units[0].name}"
        per_unit_changes("remove")
        add(
            "remove_from_base",
            "remove_hotfix_from_base",
            f"Remove {hf} from base installation {base}",
            hotfix=hf,
            base=base,
        )
        apply_changes()
    for unit in units:
        add(f"activate/{unit.name}", "activate_unit", f"Activate {unit.name}", unit=unit.name)
        outages.append(
            Outage(
                "system",
                unit.name,
                None,
                f"virtual unit of {name} inactive while the hotfix is {spec['operation']}ed",
                first_inactive,
                after[0],
            )
        )
    if spec["operation"] == "remove":
        add("set_mode/monitoring", "set_mode", "Switch back to Monitoring mode", mode="monitoring")
    add("save_model", "save_model", "Save the system model")
    return after


def _touched(system: System, packages: list[str], base: str, where: Any) -> list[tuple[str, str]]:
    """(unit, package) pairs holding the packages the hotfix touches, on that base."""
    known = {p.name for u in system.units for p in u.packages}
    for pkg in packages:
        if pkg not in known:
            raise UnknownReferenceError(
                f"no virtual unit of {system.name} holds a package {pkg!r}"
                f"{did_you_mean(pkg, sorted(known))}",
                where,
            )
    out = [
        (u.name, p.name)
        for u in system.units
        for p in u.packages
        if p.name in packages and p.base == base
    ]
    if not out:
        raise SchemaError(f"none of {', '.join(packages)} is based on {base}", where)
    return out


def msp_build(b: Builder, pb: Playbook, facts: Facts, after: Ids) -> Ids:
    """Build an .msp on the build host (SCENARIOS S4): folders, admin images, PCP, msimsp."""
    spec = pb.build
    assert spec is not None and pb.build_where is not None
    host = spec["host"]
    if host not in facts.hosts:
        raise UnknownReferenceError(
            f"unknown build host {host!r}{did_you_mean(host, list(facts.hosts))}", pb.build_where
        )
    pkg = pb.package
    if pkg is None or pkg.kind != "msp" or pkg.name != spec["output"]:
        raise SchemaError(
            f"with a `build`, the package must be kind msp named {spec['output']!r} "
            "(the built patch)",
            pb.build_where,
        )
    wd = spec["workdir"].rstrip("\\")

    def add(suffix: str, kind: str, title: str, **params: Any) -> None:
        nonlocal after
        after = b.chain(
            f"build/{host}/{suffix}", kind, after, host=host, params=params, title=title
        )

    add(
        "preflight/msi-sdk",
        "preflight",
        "Check the Windows Installer SDK (msimsp.exe) is present",
        check="msi-sdk",
        gate="run",
    )
    folders = ["RTM", "RTM\\AdminImage", "Sp1", "Sp1\\AdminImage", "Patch"]
    add(
        "prepare",
        "build_prepare",
        f"Create {wd}\\{{{','.join(folders)}}} and copy both packages",
        workdir=wd,
        folders=folders,
        copy={"RTM": spec["rtm"], "Sp1": spec["upgraded"]},
    )
    for image, msi in (("RTM", spec["rtm"]), ("Sp1", spec["upgraded"])):
        add(
            f"admin_image/{image}",
            "build_admin_image",
            f"Administrative image of {image}",
            image=image,
            msi=msi,
            target_dir=f"{wd}\\{image}\\AdminImage",
            log=f"{wd}\\{image}\\AdminImage\\Admin.log",
        )
    add(
        "verify/uncompressed",
        "verify",
        "Check both administrative images are uncompressed",
        check="admin-images-uncompressed",
        images=["RTM", "Sp1"],
    )
    add(
        "verify/product-code",
        "verify",
        "Check the new package keeps the RTM product code",
        check="product-code-match",
        product_code=spec["product_code"],
        package_code=spec["package_code"],
    )
    pcp = f"{wd}\\Patch\\{spec['output'][:-4]}.pcp"
    add(
        "pcp",
        "build_pcp",
        f"Write the patch creation properties {pcp}",
        pcp=pcp,
        family=spec.get("family", "Family1"),
        upgraded=f"{wd}\\Sp1\\AdminImage",
        target=f"{wd}\\RTM\\AdminImage",
        product_validate_flags="0x00000922",
        patch_guid=spec["patch_guid"],
        output_path=f"{wd}\\Patch",
        properties={
            "AllowProductCodeMismatches": 0,
            "AllowProductVersionMajorMismatches": 0,
            "IncludeWholeFilesOnly": 1,
        },
    )
    add(
        "patch",
        "build_patch",
        f"Run msimsp.exe to build {spec['output']}",
        pcp=pcp,
        output=spec["output"],
        msp=f"{wd}\\Patch\\{spec['output']}",
        log=f"{wd}\\Patch\\msimsp.log",
        tmp=f"{wd}\\Patch\\tmp",
    )
    return after
