"""The PowerShell dialect (Windows PowerShell 3.0+, 5.1 recommended): the verb library sent
once to each host's interpreter and the renderer of one call (see docs/verbs.md)."""

from ._library import PS_LIBRARY, ps_script, render_ps, render_ps_file_facts

__all__ = ["PS_LIBRARY", "ps_script", "render_ps", "render_ps_file_facts"]
