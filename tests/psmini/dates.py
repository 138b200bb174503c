"""``System.DateTime`` as .NET ticks (100 ns since 0001-01-01) plus a kind.

File times map exactly: ``ticks = 621355968000000000 + st_mtime_ns // 100`` (NTFS keeps
100 ns). ``AddSeconds`` and friends round to the millisecond, as .NET Framework (PowerShell
5.1's runtime) does. The host's clock is UTC, so Local and Utc times coincide."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from .errors import NetError

EPOCH_TICKS = 621355968000000000  # 1970-01-01
FILETIME_EPOCH_TICKS = 504911232000000000  # 1601-01-01, FILETIME 0
TICKS_PER_SECOND = 10_000_000
TICKS_PER_MS = 10_000
MAX_TICKS = 3155378975999999999  # 9999-12-31T23:59:59.9999999
KINDS = ("Unspecified", "Utc", "Local")
_OUT_OF_RANGE = "System.ArgumentOutOfRangeException"


@dataclass(frozen=True, order=True)
class DateTime:
    """A ``System.DateTime`` (compared by ticks only, as .NET does)."""

    ticks: int
    kind: str = "Unspecified"

    def __post_init__(self) -> None:
        if not 0 <= self.ticks <= MAX_TICKS:
            raise NetError(
                _OUT_OF_RANGE,
                "Ticks must be between DateTime.MinValue.Ticks and DateTime.MaxValue.Ticks.\r\n"
                "Parameter name: ticks",
            )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DateTime) and other.ticks == self.ticks

    def __hash__(self) -> int:
        return hash(self.ticks)

    @classmethod
    def from_parts(cls, parts: list[int], kind: str = "Unspecified") -> DateTime:
        """``New-Object DateTime -ArgumentList y, m, d[, h, mi, s]`` (kind separately)."""
        try:
            y, mo, d, h, mi, s = [*parts, 0, 0, 0][:6]
            value = _dt.datetime(y, mo, d, h, mi, s)
        except (ValueError, TypeError):
            if len(parts) > 3 and _valid_date(parts[:3]):
                message = (
                    "Hour, Minute, and Second parameters describe an un-representable DateTime."
                )
            else:
                message = "Year, Month, and Day parameters describe an un-representable DateTime."
            raise NetError(_OUT_OF_RANGE, message) from None
        return cls(_ticks_of(value), kind)

    @classmethod
    def from_unix_ns(cls, ns: int, kind: str = "Utc") -> DateTime:
        """A file time (nanoseconds since 1970) at NTFS resolution."""
        return cls(EPOCH_TICKS + ns // 100, kind)

    @classmethod
    def from_unix_s(cls, seconds: float, kind: str = "Utc") -> DateTime:
        """A clock reading (seconds since 1970)."""
        return cls(EPOCH_TICKS + int(seconds * TICKS_PER_SECOND), kind)

    def unix_ns(self) -> int:
        """Nanoseconds since 1970 (for ``os.utime``)."""
        return (self.ticks - EPOCH_TICKS) * 100

    def add_scaled(self, value: float, scale_ms: int) -> DateTime:
        """``AddSeconds`` (scale 1000) etc.: rounded to the millisecond like .NET Framework."""
        millis = int(value * scale_ms + (0.5 if value >= 0 else -0.5))
        return self.add_ticks(millis * TICKS_PER_MS)

    def add_ticks(self, ticks: int) -> DateTime:
        """``AddTicks``."""
        result = self.ticks + ticks
        if not 0 <= result <= MAX_TICKS:
            raise NetError(
                _OUT_OF_RANGE,
                "The added or subtracted value results in an un-representable DateTime.\r\n"
                "Parameter name: value",
            )
        return DateTime(result, self.kind)

    def to_python(self) -> _dt.datetime:
        """The naive ``datetime`` (microsecond precision)."""
        return _dt.datetime(1, 1, 1) + _dt.timedelta(microseconds=self.ticks // 10)

    def fraction(self) -> int:
        """The sub-second part in ticks (0..9999999)."""
        return self.ticks % TICKS_PER_SECOND

    def format(self, fmt: str | None) -> str | None:
        """``ToString(fmt)`` for the standard formats s, o, u and the en-US default; None for
        any other format (the caller reports it unsupported)."""
        d = self.to_python()
        base = f"{d.year:04d}-{d.month:02d}-{d.day:02d}"
        clock = f"{d.hour:02d}:{d.minute:02d}:{d.second:02d}"
        if fmt == "s":
            return f"{base}T{clock}"
        if fmt == "u":
            return f"{base} {clock}Z"
        if fmt in ("o", "O"):
            zone = {"Utc": "Z", "Local": "+00:00"}.get(self.kind, "")
            return f"{base}T{clock}.{self.fraction():07d}{zone}"
        if fmt is None or fmt == "":
            hour = d.hour % 12 or 12
            ampm = "AM" if d.hour < 12 else "PM"
            return f"{d.month}/{d.day}/{d.year} {hour}:{d.minute:02d}:{d.second:02d} {ampm}"
        return None

    def ps_string(self) -> str:
        """``[string]$date``: the invariant culture (``MM/dd/yyyy HH:mm:ss``)."""
        d = self.to_python()
        return f"{d.month:02d}/{d.day:02d}/{d.year:04d} {d.hour:02d}:{d.minute:02d}:{d.second:02d}"

    def json_string(self) -> str:
        """ConvertTo-Json (Windows PowerShell 5.1): ``/Date(<ms since 1970>)/``."""
        return f"/Date({(self.ticks - EPOCH_TICKS) // TICKS_PER_MS})/"

    def part(self, name: str) -> int | None:
        """Year, Month, Day, Hour, Minute, Second, Millisecond (None for other names)."""
        d = self.to_python()
        values = {
            "year": d.year,
            "month": d.month,
            "day": d.day,
            "hour": d.hour,
            "minute": d.minute,
            "second": d.second,
            "millisecond": self.fraction() // TICKS_PER_MS,
        }
        return values.get(name)


def _valid_date(parts: list[int]) -> bool:
    try:
        _dt.date(parts[0], parts[1], parts[2])
    except (ValueError, TypeError):
        return False
    return True


def _ticks_of(value: _dt.datetime) -> int:
    delta = value - _dt.datetime(1, 1, 1)
    return (delta.days * 86400 + delta.seconds) * TICKS_PER_SECOND + delta.microseconds * 10
