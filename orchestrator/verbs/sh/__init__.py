"""The POSIX sh dialect for Linux hosts: the verb library and the renderer of one call
(see docs/verbs.md)."""

from ._library import SH_CHECKS, SH_KINDS, SH_LIBRARY, render_sh, render_sh_file_facts, sh_script

__all__ = ["SH_CHECKS", "SH_KINDS", "SH_LIBRARY", "render_sh", "render_sh_file_facts", "sh_script"]
