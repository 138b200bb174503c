"""The cmdlets: Test-Path, Get-FileHash, Remove-Item, Get-Service, New-Object, Write-Output,
Out-Null, the registry ones of :mod:`.regcmdlets`, and Get-Process (:mod:`.processes`). Their
errors go through the interpreter's error action (``-ErrorAction``, else
``$ErrorActionPreference``)."""

from __future__ import annotations

import hashlib
from typing import Any

from . import dotnet
from .cmdbase import Cmdlet, Context, hit, not_found, the_path
from .convert import to_string, type_key
from .errors import NetError, PSError, Unsupported
from .host import STATUSES
from .processes import get_process
from .regcmdlets import get_item_property, new_item, new_item_property, remove_item_property
from .registry import is_registry_path
from .values import PSEnum, PSObject

_ALGORITHMS = {
    "sha1": "SHA1",
    "sha256": "SHA256",
    "sha384": "SHA384",
    "sha512": "SHA512",
    "md5": "MD5",
}


def _test_path(ctx: Context, b: dict[str, Any]) -> list[Any]:
    path = the_path(ctx, "Test-Path", b)
    kind = to_string(b.get("PathType", "Any")).lower()
    if kind not in ("any", "leaf", "container"):
        raise Unsupported(f"Test-Path -PathType {b['PathType']}")
    ctx.host.calls.append(("Test-Path", path))
    if is_registry_path(path):
        return [kind != "leaf" and ctx.host.registry.find(path) is not None]
    try:
        p = ctx.host.path(path)
    except NetError as exc:
        if exc.message.startswith("psmini:"):
            raise PSError(exc.exception(), command="Test-Path") from None
        return [False]
    if kind == "leaf":
        return [p.is_file()]
    return [p.is_dir() if kind == "container" else p.exists()]


def _file_hash(ctx: Context, b: dict[str, Any]) -> list[Any]:
    path = the_path(ctx, "Get-FileHash", b)
    algorithm = _ALGORITHMS.get(to_string(b.get("Algorithm", "SHA256")).lower())
    if algorithm is None or is_registry_path(path):
        raise Unsupported(f"Get-FileHash {b.get('Algorithm')} on {path}")
    if not hit(ctx, "Get-FileHash", path, b):
        return []
    h = ctx.host
    try:
        p, full = h.path(path), h.canonical(path)
    except NetError as exc:
        ctx.cmdlet_error("Get-FileHash", exc.message, b, exc.type_name)
        return []
    if not p.exists():
        return not_found(ctx, "Get-FileHash", path, b)
    if p.is_dir():
        return []
    try:
        data = h.read(path)
    except NetError as exc:
        inner = f'Exception calling "OpenRead" with "1" argument(s): "{exc.message}"'
        ctx.cmdlet_error(
            "Get-FileHash", f"The file '{full}' cannot be read: {inner}", b, exc.type_name
        )
        return []
    digest = hashlib.new(algorithm.lower(), data).hexdigest().upper()
    props = {"Algorithm": algorithm, "Hash": digest, "Path": full}
    return [PSObject("Microsoft.Powershell.Utility.FileHash", props, custom=True)]


def _remove_item(ctx: Context, b: dict[str, Any]) -> list[Any]:
    path = the_path(ctx, "Remove-Item", b)
    if not hit(ctx, "Remove-Item", path, b):
        return []
    h, recurse = ctx.host, bool(b.get("Recurse"))
    if is_registry_path(path):
        key = h.registry.find(path)
        if key is None:
            return not_found(ctx, "Remove-Item", path, b)
        if key.subkeys and not recurse:
            raise Unsupported(
                "Remove-Item on a registry key with subkeys without -Recurse (a prompt)"
            )
        h.registry.delete(path)
        return []
    p = h.path(path)
    if not p.exists():
        return not_found(ctx, "Remove-Item", path, b)
    try:
        if p.is_dir():
            if any(p.iterdir()) and not recurse:
                raise Unsupported(
                    "Remove-Item on a folder with content without -Recurse (a prompt)"
                )
            h.remove_tree(p)
        else:
            h.check_lock(path)
            p.unlink()
    except NetError as exc:
        ctx.cmdlet_error(
            "Remove-Item",
            f"Cannot remove item {h.canonical(path)}: {exc.message}",
            b,
            exc.type_name,
        )
    return []


def _services(ctx: Context, b: dict[str, Any]) -> list[Any]:
    out: list[Any] = []
    for svc in sorted(ctx.host.services.values(), key=lambda s: s.name.lower()):
        status = PSEnum(
            "System.ServiceProcess.ServiceControllerStatus",
            svc.status,
            STATUSES.index(svc.status) + 1,
        )
        props = {
            "Name": svc.name,
            "ServiceName": svc.name,
            "DisplayName": svc.display_name,
            "Status": status,
        }
        out.append(
            PSObject(
                "System.ServiceProcess.ServiceController",
                props,
                text="System.ServiceProcess.ServiceController",
            )
        )
    return out


def _new_object(ctx: Context, b: dict[str, Any]) -> list[Any]:
    args = b.get("ArgumentList")
    args = [] if args is None else args if isinstance(args, list) else [args]
    try:
        return [dotnet.new_object(ctx.host, type_key(to_string(b.get("TypeName"))), args, 0)]
    except PSError as exc:
        exc.command = "New-Object"
        raise


def _write_output(ctx: Context, b: dict[str, Any]) -> list[Any]:
    value = b.get("InputObject")
    if b.get("NoEnumerate") or not isinstance(value, list):
        return [value]
    return list(value)


CMDLETS: dict[str, Cmdlet] = {
    c.name.lower(): c
    for c in (
        Cmdlet(
            "Test-Path",
            {"LiteralPath": False, "Path": False, "PathType": False},
            ("Path",),
            _test_path,
        ),
        Cmdlet(
            "Get-FileHash",
            {"LiteralPath": False, "Path": False, "Algorithm": False},
            ("Path",),
            _file_hash,
        ),
        Cmdlet(
            "Remove-Item",
            {"LiteralPath": False, "Path": False, "Recurse": True, "Force": True},
            ("Path",),
            _remove_item,
        ),
        Cmdlet("Get-Service", {}, (), _services),
        Cmdlet("Get-Process", {"Id": False}, (), get_process),
        Cmdlet(
            "Get-ItemProperty",
            {"LiteralPath": False, "Path": False, "Name": False},
            ("Path", "Name"),
            get_item_property,
        ),
        Cmdlet(
            "New-Item",
            {"Path": False, "ItemType": False, "Name": False, "Value": False, "Force": True},
            ("Path",),
            new_item,
        ),
        Cmdlet(
            "New-ItemProperty",
            {
                "LiteralPath": False,
                "Path": False,
                "Name": False,
                "Value": False,
                "PropertyType": False,
                "Force": True,
            },
            ("Path", "Name", "Value"),
            new_item_property,
        ),
        Cmdlet(
            "Remove-ItemProperty",
            {"LiteralPath": False, "Path": False, "Name": False, "Force": True},
            ("Path", "Name"),
            remove_item_property,
        ),
        Cmdlet(
            "New-Object",
            {"TypeName": False, "ArgumentList": False},
            ("TypeName", "ArgumentList"),
            _new_object,
        ),
        Cmdlet(
            "Write-Output",
            {"InputObject": False, "NoEnumerate": True},
            ("InputObject",),
            _write_output,
        ),
        Cmdlet("Out-Null", {"InputObject": False}, ("InputObject",), lambda ctx, b: []),
    )
}
