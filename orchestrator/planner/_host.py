"""The work on one host, as segments that the tier/pool/cluster logic places around its own steps.

``prepare`` (host-gated preflights, pre hooks) → ``core`` (stop services, prerequisites,
uninstall, install, reboot, components, restore, start services) → ``verify`` → ``post``
(post hooks). Each segment is a chain; each returns the ids its successors wait for.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..facts import Facts
from ..playbook import Check, Component, Hook, Package, Playbook
from ._builder import Builder, Ids
from ._select import resolve_all


@dataclass(frozen=True)
class Outage:
    """A planned loss of service: from the start of one action to the finish of another."""

    scope: str
    name: str
    cluster: str | None
    reason: str
    start_id: str
    end_id: str


@dataclass
class Context:
    """What every planning step shares: the builder, the playbook, the facts."""

    b: Builder
    pb: Playbook
    facts: Facts
    targets: list[str]
    outages: list[Outage] = field(default_factory=list)
    _cache: dict[int, frozenset[str]] = field(default_factory=dict)

    @property
    def pkg(self) -> Package:
        assert self.pb.package is not None
        return self.pb.package

    def applies(self, item: Check | Hook | Component, host: str) -> bool:
        """Whether a check/hook/component with an optional ``hosts`` selector covers ``host``."""
        if not item.hosts:
            return True
        key = id(item)
        if key not in self._cache:
            self._cache[key] = frozenset(resolve_all(item.hosts, self.facts))
        return host in self._cache[key]


_SERVICE_TITLES = {
    ("stop", "interfering"): "Stop interfering services",
    ("stop", "product"): "Stop the product's services",
    ("start", "product"): "Start the product's services",
    ("start", "interfering"): "Restore interfering services",
}


@functools.lru_cache(maxsize=4096)
def slug(text: str) -> str:
    """A readable id fragment for free text (check and hook names)."""
    out = "".join(c if c.isalnum() or c in "-_." else "-" for c in text.lower())
    return "-".join(p for p in out.split("-") if p) or "x"


class HostWork:
    """Emits the actions of one target host, under id prefix ``prefix``."""

    def __init__(self, ctx: Context, host: str, prefix: str, cluster: str | None = None) -> None:
        self.ctx, self.host, self.prefix, self.cluster = ctx, host, prefix, cluster
        self.added: list[str] = []
        #: Services a cluster resource runs (only on the node owning its group), casefolded
        #: (Windows service names ignore case): checked on that node, for the group, not on
        #: every node (see ``ClusterPlan``).
        self.cluster_services: frozenset[str] = frozenset()

    def _add(self, suffix: str, kind: str, after: Ids, title: str, **params: Any) -> Ids:
        self.added.append(f"{self.prefix}/{suffix}")
        return self.ctx.b.chain(
            f"{self.prefix}/{suffix}",
            kind,
            after,
            host=self.host,
            cluster=self.cluster,
            params=params,
            title=title,
        )

    def prepare(self, after: Ids) -> Ids:
        """Host-gated preflight checks (in parallel), then pre hooks (in order)."""
        pb, h = self.ctx.pb, self.host
        checks = [c for c in pb.preflight if c.gate == "host" and self.ctx.applies(c, h)]
        if checks:
            after = tuple(
                x
                for c in checks
                for x in self._add(
                    f"preflight/{slug(c.check)}",
                    "preflight",
                    after,
                    f"Check {c.check} on {h}",
                    check=c.check,
                    gate="host",
                    **check_params(self.ctx.pb.package, c),
                )
            )
        for hook in pb.pre_hooks:
            if self.ctx.applies(hook, h):
                after = self._add(
                    f"hook/pre/{slug(hook.name)}",
                    "hook",
                    after,
                    f"Pre hook '{hook.name}' on {h}",
                    stage="pre",
                    name=hook.name,
                    run=hook.run,
                )
        return after

    def core(self, after: Ids) -> Ids:
        """The disruptive part: services down, packages in, reboot, services back.

        Afterwards :attr:`core_span` holds its first and last action ids."""
        first = len(self.added)
        last = self._core(after)
        self.core_span = (self.added[first], self.added[-1])
        return last

    def _services(self, verb: str, after: Ids) -> Ids:
        """Stop (interfering first, then the product's) or start them (in reverse order)."""
        pb = self.ctx.pb
        groups = [("interfering", pb.interfering_services), ("product", pb.services)]
        if verb == "start":
            groups.reverse()
        windows = self.ctx.facts.hosts[self.host].platform == "windows"
        for purpose, services in groups:
            if services:
                title = f"{_SERVICE_TITLES[verb, purpose]} on {self.host}"
                # KB 328839: interfering services must stay stopped across every reboot
                # before the install (KB 831464's): disabled while stopped, then restored.
                hold: dict[str, bool] = {}
                if windows and purpose == "interfering":
                    key = "hold_across_reboots" if verb == "stop" else "restore_start_mode"
                    hold = {key: True}
                after = self._add(
                    f"{verb}_services/{purpose}",
                    f"{verb}_services",
                    after,
                    title,
                    services=list(services),
                    purpose=purpose,
                    **hold,
                )
        return after

    def _files(self, kind: str, after: Ids) -> Ids:
        """Save customised files before the install, or put them back after it."""
        files = self.ctx.pkg.preserve
        if not files:
            return after
        title = (
            "Save customised files on"
            if kind == "preserve_files"
            else "Put customised files back on"
        )
        return self._add(kind, kind, after, f"{title} {self.host}", files=list(files))

    def _core(self, after: Ids) -> Ids:
        pb, pkg, h = self.ctx.pb, self.ctx.pkg, self.host
        after = self._services("stop", self._files("preserve_files", after))
        after = self._components(after, "before")
        if pkg.replaces:
            after = self._add(
                "uninstall",
                "uninstall",
                after,
                f"Remove {pkg.replaces['name']} from {h}",
                package=pkg.replaces["name"],
                product_code=pkg.replaces.get("product_code"),
            )
        after = self._add(
            "install",
            "install",
            after,
            f"Install {pkg.name} on {h}",
            **install_params(pkg, self.ctx.pb.services),
        )
        if pb.reboot != "never":
            reason = "policy: always" if pb.reboot == "always" else "if the installer asks for it"
            after = self._add(
                "reboot", "reboot", after, f"Reboot {h} ({reason})", reason=reason, when=pb.reboot
            )
        after = self._components(after, "after")
        return self._services("start", self._files("restore_files", after))

    def _components(self, after: Ids, when: str) -> Ids:
        for comp in self.ctx.pkg.components:
            if comp.when != when or not self.ctx.applies(comp, self.host):
                continue
            after = self._add(
                f"install/{slug(comp.name)}",
                "install",
                after,
                f"Install {comp.name} on {self.host}",
                package=comp.name,
                version=comp.version,
                package_kind=comp.kind,
                source=comp.source,
                arguments=comp.arguments,
                component=True,
            )
            if comp.reboot:
                after = self._add(
                    f"reboot/{slug(comp.name)}",
                    "reboot",
                    after,
                    f"Reboot {self.host} after {comp.name}",
                    reason=f"after {comp.name}",
                    when="always",
                )
        return after

    def verify(self, after: Ids) -> Ids:
        """Post-conditions on this host (in parallel)."""
        out: list[str] = []
        for c in self.ctx.pb.verify:
            if not self.ctx.applies(c, self.host):
                continue
            params = check_params(self.ctx.pb.package, c)
            if c.check == "services-running" and self.cluster_services:
                params["services"] = [
                    x
                    for x in params.get("services", [])
                    if str(x).casefold() not in self.cluster_services
                ]
                if not params["services"]:
                    continue
            out += self._add(
                f"verify/{slug(c.check)}",
                "verify",
                after,
                f"Verify {c.check} on {self.host}",
                check=c.check,
                **params,
            )
        return tuple(out) if out else after

    def post(self, after: Ids) -> Ids:
        """Post hooks, in order."""
        for hook in self.ctx.pb.post_hooks:
            if self.ctx.applies(hook, self.host):
                after = self._add(
                    f"hook/post/{slug(hook.name)}",
                    "hook",
                    after,
                    f"Post hook '{hook.name}' on {self.host}",
                    stage="post",
                    name=hook.name,
                    run=hook.run,
                )
        return after

    def whole(self, after: Ids) -> Ids:
        """prepare → core → verify → post, for a host with no pool or cluster around it."""
        return self.post(self.verify(self.core(self.prepare(after))))


def install_params(pkg: Package, services: Sequence[str] = ()) -> dict[str, Any]:
    """The params of the main ``install`` action. A patch-level step (``install_dir``) also
    gets the product's ``services`` (the upgrade refuses while they run on Windows) and the
    package's ``customization``, ``force`` and ``registry_key`` when set."""
    params: dict[str, Any] = {
        "package": pkg.name,
        "version": pkg.version,
        "package_kind": pkg.kind,
        "source": pkg.source,
        "arguments": pkg.arguments,
        "success_codes": list(pkg.success_codes),
        "reboot_codes": list(pkg.reboot_codes),
    }
    if pkg.level is not None:
        params["level"] = pkg.level
    if pkg.install_dir is not None:
        params["install_dir"] = pkg.install_dir
        params.update(_patch_extras(pkg, with_force=True))
        if services:
            params["services"] = list(services)
    if pkg.product_code:
        params["product_code"] = pkg.product_code
    if pkg.properties:
        params["properties"] = dict(pkg.properties)
    return params


#: The checks of a patch-level step (run by :mod:`orchestrator.patchlevel._steps`).
PATCH_CHECKS = frozenset({"patch-consistency", "patch-compatibility", "patch-level"})


def check_params(pkg: Package | None, check: Check) -> dict[str, Any]:
    """A check's params. With a patch-level package's ``install_dir``, its patch checks also
    get ``install_dir``, the package file (``source``, not for the verify) and the target
    ``level`` (compatibility; the verify unless it has ``expect``), unless given already."""
    params = dict(check.params)
    if pkg is None or pkg.install_dir is None or check.check not in PATCH_CHECKS:
        return params
    params["install_dir"] = pkg.install_dir
    params.setdefault("package", pkg.name)
    for key, value in _patch_extras(pkg, with_force=check.check == "patch-compatibility").items():
        if check.check != "patch-level" or key == "registry_key":
            params.setdefault(key, value)
    if check.check != "patch-level":
        params.setdefault("source", pkg.source)
    wants_level = check.check == "patch-compatibility" or (
        check.check == "patch-level" and "expect" not in params
    )
    if wants_level:
        params.setdefault("level", pkg.level)
    return params


def _patch_extras(pkg: Package, *, with_force: bool) -> dict[str, Any]:
    """``customization``, ``force`` (when true and wanted) and ``registry_key``, when set."""
    out: dict[str, Any] = {}
    if pkg.customization:
        out["customization"] = pkg.customization
    if pkg.force and with_force:
        out["force"] = True
    if pkg.registry_key:
        out["registry_key"] = pkg.registry_key
    return out
