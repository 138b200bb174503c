"""The .NET statics (``[IO.File]::Copy(...)``, ``[Environment]::NewLine``...) and the objects
``New-Object`` can make (DateTime, IO.FileInfo), on the emulated :class:`~.host.WindowsHost`.

Arguments are converted as PowerShell does for a .NET signature: a $null passed to a string
parameter becomes '' (``[NullString]::Value`` passes a real null); a string names an enum
member (``'CreateNew'`` for a FileMode). Where the parameter names are known, a failed
conversion is PowerShell's ``Cannot convert argument "mode", with value: ...``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .convert import INT32, INT64, cast_error, to_integer, to_string, truthy
from .dates import MAX_TICKS, DateTime
from .enums import FILE_MODE
from .errors import NetError, NetException, PSError, Unsupported, method_error
from .fileops import decode_text, file_stream, split_lines
from .processes import get_process_by_id
from .values import NULL_STRING, VOID, PSEnum, PSObject

if TYPE_CHECKING:
    from .host import WindowsHost

KIND_ENUM = "System.DateTimeKind"
KINDS = {"unspecified": ("Unspecified", 0), "utc": ("Utc", 1), "local": ("Local", 2)}
Impl = Callable[["WindowsHost", list[Any]], Any]


def _kind(name: str) -> PSEnum:
    label, value = KINDS[name]
    return PSEnum(KIND_ENUM, label, value)


def _kind_getter(name: str) -> Callable[[WindowsHost], Any]:
    return lambda h: _kind(name)


def _properties() -> dict[tuple[str, str], Callable[[WindowsHost], Any]]:
    return {
        ("environment", "newline"): lambda h: "\r\n",
        ("datetime", "utcnow"): lambda h: h.now(),
        ("datetime", "minvalue"): lambda h: DateTime(0),
        ("datetime", "maxvalue"): lambda h: DateTime(MAX_TICKS),
        ("string", "empty"): lambda h: "",
        ("text.encoding", "utf8"): lambda h: _UTF8,
        ("management.automation.language.nullstring", "value"): lambda h: NULL_STRING,
        ("int", "maxvalue"): lambda h: INT32[1],
        ("int", "minvalue"): lambda h: INT32[0],
        ("long", "maxvalue"): lambda h: INT64[1],
        ("long", "minvalue"): lambda h: INT64[0],
        **{("datetimekind", k): _kind_getter(k) for k in KINDS},
        **{("io.filemode", n.lower()): FILE_MODE.getter(n) for n, _ in FILE_MODE.members},
    }


def _utf8_bytes(args: list[Any]) -> list[int]:
    """``Encoding.UTF8.GetBytes(string)``: a lone surrogate becomes U+FFFD, as in .NET."""
    if len(args) != 1 or not isinstance(args[0], str):
        raise TypeError("GetBytes(string)")
    text = args[0].encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return list(text.encode("utf-8"))


_UTF8 = PSObject(
    "System.Text.UTF8Encoding", methods={"GetBytes": _utf8_bytes}, text="System.Text.UTF8Encoding"
)
_PROPERTIES = _properties()


def static_property(host: WindowsHost, key: str, name: str, line: int) -> Any:
    """``[Type]::Name``."""
    getter = _PROPERTIES.get((key, name.lower()))
    if getter is None:
        raise Unsupported(f"static property [{key}]::{name}", line)
    return getter(host)


def _string(value: Any) -> str | None:
    if value is NULL_STRING:
        return None
    return "" if value is None else to_string(value)


def _date(value: Any) -> DateTime:
    if value is None:
        return DateTime(0)
    if isinstance(value, DateTime):
        return value
    raise cast_error(value, "System.DateTime")


_CONVERT: dict[str, Callable[[Any], Any]] = {
    "s": _string,
    "b": truthy,
    "d": _date,
    "i": lambda v: to_integer(v, 32),
    "m": FILE_MODE.convert,
}
_TARGET = {
    "s": "System.String",
    "b": "System.Boolean",
    "d": "System.DateTime",
    "i": "System.Int32",
    "m": FILE_MODE.name,
}
#: (type, method) -> parameter names, for PowerShell's argument conversion errors.
_PARAMS = {
    ("io.file", "open"): ("path", "mode"),
    ("io.file", "setlastwritetimeutc"): ("path", "lastWriteTimeUtc"),
    ("io.directory", "setlastwritetimeutc"): ("path", "lastWriteTimeUtc"),
    ("diagnostics.process", "getprocessbyid"): ("processId",),
}


_EMPTY = "Empty path name is not legal."


def _file_path(path: str | None, empty: str | None = _EMPTY) -> str:
    """A method's path: null fails before anything else, and so does '' with ``empty`` (File
    methods; None: '' goes on to "The path is not of a legal form.")."""
    if path is None:
        raise NetError(
            "System.ArgumentNullException", "Value cannot be null.\r\nParameter name: path"
        )
    if path == "" and empty is not None:
        raise NetError("System.ArgumentException", empty)
    return path


def _void(fn: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any) -> Any:
        fn(*args)
        return VOID

    return run


def _methods() -> dict[tuple[str, str], tuple[dict[int, str], Impl]]:
    """(type, method) -> ({argument count: argument kinds}, implementation)."""

    def copy(h: WindowsHost, a: list[Any]) -> None:
        h.copy(a[0], a[1], bool(a[2]) if len(a) > 2 else False)

    def append(h: WindowsHost, a: list[Any]) -> None:
        data = (a[1] or "").encode("utf-8", "surrogatepass")
        h.write_bytes(_file_path(a[0]), data, True, "AppendAllText")

    def write(h: WindowsHost, a: list[Any]) -> None:
        data = (a[1] or "").encode("utf-8", "surrogatepass")
        h.write_bytes(_file_path(a[0]), data, False, "WriteAllText")

    def read_text(h: WindowsHost, a: list[Any]) -> str:
        return decode_text(h.read_bytes(_file_path(a[0]), "ReadAllText"))

    def read_lines(h: WindowsHost, a: list[Any]) -> list[str]:
        return split_lines(decode_text(h.read_bytes(_file_path(a[0]), "ReadAllLines")))

    def open_file(h: WindowsHost, a: list[Any]) -> PSObject:
        path = _file_path(a[0], _EMPTY + "\r\nParameter name: path")  # FileStream's check
        return file_stream(h, h.open_file(path, a[1].name))

    def entries(method: str, files_only: bool) -> Impl:
        return lambda h, a: h.entries(_file_path(a[0], None), method, files_only)

    def create(h: WindowsHost, a: list[Any]) -> PSObject:
        h.create_dir(a[0])
        return directory_info(h, a[0])

    return {
        ("io.file", "exists"): ({1: "s"}, lambda h, a: h.exists(a[0], False)),
        ("io.file", "copy"): ({2: "ss", 3: "ssb"}, _void(copy)),
        ("io.file", "delete"): ({1: "s"}, _void(lambda h, a: h.delete(a[0]))),
        ("io.file", "move"): ({2: "ss"}, _void(lambda h, a: h.move(a[0], a[1]))),
        ("io.file", "replace"): ({3: "sss"}, _void(lambda h, a: h.replace(a[0], a[1], a[2]))),
        ("io.file", "getlastwritetimeutc"): ({1: "s"}, lambda h, a: h.mtime(a[0])),
        ("io.file", "setlastwritetimeutc"): (
            {2: "sd"},
            _void(lambda h, a: h.set_mtime(a[0], a[1], False)),
        ),
        ("io.file", "appendalltext"): ({2: "ss"}, _void(append)),
        ("io.file", "writealltext"): ({2: "ss"}, _void(write)),
        ("io.file", "readalltext"): ({1: "s"}, read_text),
        ("io.file", "readalllines"): ({1: "s"}, read_lines),
        ("io.file", "open"): ({2: "sm"}, open_file),
        ("io.directory", "getfiles"): ({1: "s"}, entries("GetFiles", True)),
        ("io.directory", "getfilesystementries"): (
            {1: "s"},
            entries("GetFileSystemEntries", False),
        ),
        ("diagnostics.process", "getprocessbyid"): ({1: "i"}, get_process_by_id),
        ("io.directory", "exists"): ({1: "s"}, lambda h, a: h.exists(a[0], True)),
        ("io.directory", "createdirectory"): ({1: "s"}, create),
        ("io.directory", "delete"): (
            {1: "s", 2: "sb"},
            _void(lambda h, a: h.delete_dir(a[0], len(a) > 1 and a[1])),
        ),
        ("io.directory", "getlastwritetimeutc"): ({1: "s"}, lambda h, a: h.mtime(a[0])),
        ("io.directory", "setlastwritetimeutc"): (
            {2: "sd"},
            _void(lambda h, a: h.set_mtime(a[0], a[1], True)),
        ),
        ("string", "isnullorempty"): ({1: "s"}, lambda h, a: not a[0]),
    }


_METHODS = _methods()


def call_static(host: WindowsHost, key: str, name: str, args: list[Any], line: int) -> Any:
    """``[Type]::Name(args)``."""
    entry = _METHODS.get((key, name.lower()))
    if entry is None or len(args) not in entry[0]:
        raise Unsupported(f"static method [{key}]::{name} with {len(args)} argument(s)", line)
    kinds, impl = entry
    converted = []
    for i, (kind, value) in enumerate(zip(kinds[len(args)], args, strict=True)):
        try:
            converted.append(_CONVERT[kind](value))
        except PSError as exc:
            params = _PARAMS.get((key, name.lower()))
            if params is None:
                raise
            message = (
                f'Cannot convert argument "{params[i]}", with value: "{to_string(value)}", '
                f'for "{name}" to type "{_TARGET[kind]}": "{exc.message}"'
            )
            outer = "System.Management.Automation.MethodException"
            raise PSError(NetException(outer, message, exc.exception)) from None
    try:
        return impl(host, converted)
    except NetError as exc:
        raise method_error(name, len(args), exc) from None


def directory_info(h: WindowsHost, path: str) -> PSObject:
    """A DirectoryInfo-like object (what CreateDirectory returns)."""
    full = h.canonical(path)
    return PSObject(
        "System.IO.DirectoryInfo",
        {"FullName": full, "Name": full.rstrip("\\").rsplit("\\", 1)[-1]},
        getters={"Exists": lambda: h.path(path).is_dir()},
        text=path,
    )


def file_info(h: WindowsHost, path: str) -> PSObject:
    """``New-Object IO.FileInfo -ArgumentList $path``: Length fails when the file is missing."""
    full = h.canonical(path)
    return PSObject(
        "System.IO.FileInfo",
        {
            "FullName": full,
            "Name": full.rsplit("\\", 1)[-1],
            "DirectoryName": full.rsplit("\\", 1)[0],
        },
        getters={
            "Length": lambda: h.file_length(path),
            "Exists": lambda: h.path(path).is_file(),
            "LastWriteTimeUtc": lambda: h.mtime(path),
        },
        text=path,
    )


def _kind_arg(value: Any) -> str:
    if isinstance(value, PSEnum) and value.type_name == KIND_ENUM:
        return value.name
    if isinstance(value, str) and value.strip().lower() in KINDS:
        return KINDS[value.strip().lower()][0]
    raise cast_error(value, KIND_ENUM)


def _file_stream(h: WindowsHost, args: list[Any], line: int) -> PSObject:
    """``FileStream(path, mode, access, share, bufferSize, options)``, for a new file written
    through to disk (the emulated disk has no cache: WriteThrough changes nothing)."""
    rest = [to_string(a).replace(" ", "").lower() for a in args[2:]]
    if rest[0] not in ("write", "readwrite") or rest[1] != "none" or rest[3] != "writethrough":
        raise Unsupported(f"FileStream with {rest}", line)
    path = _file_path(_string(args[0]), _EMPTY + "\r\nParameter name: path")
    return file_stream(h, h.open_file(path, FILE_MODE.convert(args[1]).name))


def new_object(h: WindowsHost, key: str, args: list[Any], line: int) -> Any:
    """``New-Object <type> -ArgumentList args`` for DateTime and IO.FileInfo."""
    try:
        if key == "datetime":
            if len(args) in (1, 2):
                kind = _kind_arg(args[1]) if len(args) == 2 else "Unspecified"
                return DateTime(to_integer(args[0], 64), kind)
            if len(args) in (3, 6, 7):
                kind = _kind_arg(args[6]) if len(args) == 7 else "Unspecified"
                return DateTime.from_parts([to_integer(a, 32) for a in args[:6]], kind)
        elif key == "io.filestream" and len(args) == 6:
            return _file_stream(h, args, line)
        elif key == "io.fileinfo" and len(args) == 1:
            path = _string(args[0])
            if path is None:
                raise NetError(
                    "System.ArgumentNullException",
                    "Value cannot be null.\r\nParameter name: fileName",
                )
            return file_info(h, path)
    except NetError as exc:
        raise method_error(".ctor", len(args), exc) from None
    raise Unsupported(f"New-Object {key} with {len(args)} argument(s)", line)
