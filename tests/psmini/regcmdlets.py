"""The registry provider's cmdlets: Get-ItemProperty, New-Item, New-ItemProperty,
Remove-ItemProperty (Test-Path and Remove-Item handle registry paths too)."""

from __future__ import annotations

from typing import Any

from .cmdbase import Context, hit, not_found, the_path
from .convert import to_integer, to_string
from .errors import NetException, PSError, Unsupported
from .registry import is_registry_path, provider_path
from .values import PSObject


def _ps_props(path: str) -> dict[str, Any]:
    full = provider_path(path)
    parent, _, child = full.rpartition("\\")
    prefix = "Microsoft.PowerShell.Core\\Registry::"
    return {
        "PSPath": prefix + full,
        "PSParentPath": prefix + parent,
        "PSChildName": child,
        "PSDrive": path.split(":", 1)[0].upper(),
        "PSProvider": "Microsoft.PowerShell.Core\\Registry",
    }


def _read_value(kind: str, data: int | str) -> int | str:
    if kind == "DWord" and isinstance(data, int):
        return data - 2**32 if data >= 2**31 else data
    if kind == "QWord" and isinstance(data, int):
        return data - 2**64 if data >= 2**63 else data
    return data


def _registry_only(name: str, path: str) -> None:
    if not is_registry_path(path):
        raise Unsupported(f"{name} on {path!r} (only the registry provider is emulated)")


def get_item_property(ctx: Context, b: dict[str, Any]) -> list[Any]:
    """Get-ItemProperty: the values of a key as one object (nothing when it has none)."""
    path = the_path(ctx, "Get-ItemProperty", b)
    _registry_only("Get-ItemProperty", path)
    if "Name" in b:
        raise Unsupported("Get-ItemProperty -Name")
    if not hit(ctx, "Get-ItemProperty", path, b):
        return []
    values = ctx.host.registry.values(path)
    if values is None:
        return not_found(ctx, "Get-ItemProperty", path, b)
    if not values:
        return []  # a key without values yields nothing
    props: dict[str, Any] = {name: _read_value(kind, data) for name, (kind, data) in values.items()}
    return [
        PSObject(
            "System.Management.Automation.PSCustomObject", {**props, **_ps_props(path)}, custom=True
        )
    ]


def new_item(ctx: Context, b: dict[str, Any]) -> list[Any]:
    """New-Item on the registry: create a key (-Force: and its parents)."""
    for extra in ("ItemType", "Name", "Value"):
        if extra in b:
            raise Unsupported(f"New-Item -{extra}")
    path = the_path(ctx, "New-Item", b)
    _registry_only("New-Item", path)
    if not hit(ctx, "New-Item", path, b):
        return []
    reg = ctx.host.registry
    if reg.find(path) is not None:
        if b.get("Force"):
            raise Unsupported("New-Item -Force on an existing registry key")
        ctx.cmdlet_error(
            "New-Item", "A key at this path already exists.", b, "System.IO.IOException"
        )
        return []
    if not b.get("Force") and not reg.parent_exists(path):
        return not_found(ctx, "New-Item", path.rsplit("\\", 1)[0], b)
    key = reg.create(path)
    full = provider_path(path)
    props = {"Name": full, "PSChildName": key.name, "SubKeyCount": 0, "ValueCount": 0}
    return [PSObject("Microsoft.Win32.RegistryKey", props, text=full)]


def _value_of(kind: str, value: Any) -> int | str:
    """The registry provider's conversion (Int32, else UInt32, which .NET's SetValue then
    refuses above Int32.MaxValue); stored as the unsigned bit pattern."""
    if kind == "String":
        return "" if value is None else to_string(value)
    if value is None:
        return 0
    bits = 32 if kind == "DWord" else 64
    try:
        number = to_integer(value, bits)
    except PSError:
        to_integer(value, bits, signed=False)  # what UInt cannot hold fails here
        raise PSError(
            NetException(
                "System.ArgumentException",
                "The type of the value object did not match the specified RegistryValueKind or "
                "the object could not be properly converted.",
            )
        ) from None
    return number & ((1 << bits) - 1)


def new_item_property(ctx: Context, b: dict[str, Any]) -> list[Any]:
    """New-ItemProperty: write a String/DWord/QWord value (an existing one needs -Force)."""
    path = the_path(ctx, "New-ItemProperty", b)
    _registry_only("New-ItemProperty", path)
    name = to_string(b.get("Name"))
    kinds = {"string": "String", "dword": "DWord", "qword": "QWord"}
    kind = kinds.get(to_string(b.get("PropertyType")).lower())
    if kind is None or "Name" not in b:
        raise Unsupported(f"New-ItemProperty -PropertyType {b.get('PropertyType')!r}")
    if not hit(ctx, "New-ItemProperty", path, b):
        return []
    reg = ctx.host.registry
    values = reg.values(path)
    if values is None:
        return not_found(ctx, "New-ItemProperty", path, b)
    if any(n.lower() == name.lower() for n in values) and not b.get("Force"):
        ctx.cmdlet_error(
            "New-ItemProperty", "The property already exists.", b, "System.IO.IOException"
        )
        return []
    data = _value_of(kind, b.get("Value"))
    reg.set(path, name, data, kind)
    props = {name: _read_value(kind, data), **_ps_props(path)}
    return [PSObject("System.Management.Automation.PSCustomObject", props, custom=True)]


def remove_item_property(ctx: Context, b: dict[str, Any]) -> list[Any]:
    """Remove-ItemProperty: delete a value (an error when it is not there)."""
    path = the_path(ctx, "Remove-ItemProperty", b)
    _registry_only("Remove-ItemProperty", path)
    name = to_string(b.get("Name"))
    if not hit(ctx, "Remove-ItemProperty", path, b):
        return []
    reg = ctx.host.registry
    if reg.find(path) is None:
        return not_found(ctx, "Remove-ItemProperty", path, b)
    if not reg.remove_value(path, name):
        message = f"Property {name} does not exist at path {provider_path(path)}."
        ctx.cmdlet_error(
            "Remove-ItemProperty", message, b, "System.Management.Automation.PSArgumentException"
        )
    return []
