"""MSI patch build verbs and checks (S4): each step creates its outputs on the build host and
needs the outputs of the step before it (administrative images need the prepared folders, the
patch creation properties need both admin images, msimsp needs the .pcp)."""

from __future__ import annotations

from ..errors import FatalError
from ..plan import Action
from ._checks import check, fail
from ._seed import ADMIN_IMAGE, build_outputs
from ._verbs import Ctx, Done, find_host, host_of, strings, verb


def _built(ctx: Ctx, a: Action) -> bool:
    files = find_host(ctx, a).files
    return all(
        files.get(path) == what if what == ADMIN_IMAGE else path in files
        for path, what in build_outputs(a)
    )


def _needs(ctx: Ctx, a: Action) -> list[tuple[str, str | None]]:
    p = a.params
    if a.kind == "build_admin_image":
        return [(str(p["target_dir"]), None)]
    if a.kind == "build_pcp":
        return [(str(p["target"]), ADMIN_IMAGE), (str(p["upgraded"]), ADMIN_IMAGE)]
    if a.kind == "build_patch":
        return [(str(p["pcp"]), None)]
    return []


def _build(ctx: Ctx, a: Action) -> Done:
    files = find_host(ctx, a).files
    for path, what in _needs(ctx, a):
        if path not in files:
            raise FatalError(f"{a.id}: {path}: the system cannot find the path specified")
        if what is not None and files[path] != what:
            raise FatalError(f"{a.id}: {path} is not an uncompressed administrative image")
    h = ctx.edit_host(host_of(a))
    outputs = build_outputs(a)
    for path, what in outputs:
        if what == ADMIN_IMAGE or path not in h.files:
            h.files[path] = what
    return Done(f"created {', '.join(path for path, _ in outputs)}")


for _kind in ("build_prepare", "build_admin_image", "build_pcp", "build_patch"):
    verb(_kind, _built)(_build)


@check("msi-log-clean")
def _msi_log(ctx: Ctx, a: Action) -> str:
    h = find_host(ctx, a)
    if h.msi_log != "clean":
        raise fail(a, f"no clean installer log on {a.host}")
    return "installer log clean"


@check("admin-images-uncompressed")
def _admin_images(ctx: Ctx, a: Action) -> str:
    h, dirs = find_host(ctx, a), ctx.index.admin_images.get(a.host or "", {})
    bad = [i for i in strings(a, "images") if h.files.get(dirs.get(i, "?")) != ADMIN_IMAGE]
    if bad:
        raise fail(a, f"no uncompressed administrative image for {', '.join(bad)}")
    return "administrative images uncompressed"
