"""What a service name may be, per platform: the rule every input that names a service
(playbook ``services``/``interfering_services``, ``params.services`` of checks, ``patch
upgrade --service``) is held to, and that the host-side verbs enforce again.

- **Any platform** (:data:`SERVICE_NAME`): 1-255 characters, no ``/`` and no ``\\`` (a
  Windows service name cannot contain them; on Linux they make a path), no control
  characters, not starting with ``-`` (an option) or ``.`` (``.``/``..``, hidden files) or
  whitespace.
- **Linux** (:data:`LINUX_SERVICE_NAME`): the characters systemd allows in unit names and
  SysV/OpenRC init scripts use: ASCII letters, digits, ``_ @ . : -``; starting with a letter,
  digit or ``_``; at most 255 (systemd's limit). ``\\`` (systemd's escape) is refused.

Pure: no I/O.
"""

from __future__ import annotations

import re

#: Longest service name accepted anywhere (systemd's UNIT_NAME_MAX less the NUL).
MAX_LENGTH = 255
#: Any platform, as a regular expression for :func:`re.fullmatch` (and the JSON Schema).
SERVICE_NAME = r"[^\\/\x00-\x1f\x7f.\s-][^\\/\x00-\x1f\x7f]{0,254}"
#: Linux hosts: the systemd / SysV / OpenRC character set.
LINUX_SERVICE_NAME = r"[A-Za-z0-9_][A-Za-z0-9_@.:-]{0,254}"
#: What :data:`SERVICE_NAME` means, in words (for error messages).
SERVICE_NAME_RULE = (
    "a service name has 1-255 characters, no '/', '\\' or control characters, and does not "
    "start with '-', '.' or a space"
)
#: What :data:`LINUX_SERVICE_NAME` means, in words.
LINUX_SERVICE_NAME_RULE = (
    "on Linux a service name has 1-255 of the characters A-Z a-z 0-9 _ @ . : - and starts "
    "with a letter, a digit or '_'"
)


def service_name_problem(name: object, platform: str = "any") -> str | None:
    """Why ``name`` cannot name a service on ``platform`` (``any``, ``linux``, ``windows``),
    or None when it can."""
    if not isinstance(name, str):
        return f"a service name must be a string, not {type(name).__name__}"
    if not re.fullmatch(SERVICE_NAME, name):
        return SERVICE_NAME_RULE
    if platform == "linux" and not re.fullmatch(LINUX_SERVICE_NAME, name):
        return LINUX_SERVICE_NAME_RULE
    return None
