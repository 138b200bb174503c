"""The PowerShell dialects: ``powershell`` (Windows PowerShell 3.0+, 5.1 recommended) and
``powershell2`` (the kinds of :data:`PS2_KINDS`, whose verbs are in the PowerShell 2.0
subset): one verb library sent once to each host's interpreter and the renderer of one call
(see docs/verbs.md)."""

from ._library import PS2_KINDS, PS_LIBRARY, ps_script, render_ps, render_ps_file_facts

__all__ = ["PS2_KINDS", "PS_LIBRARY", "ps_script", "render_ps", "render_ps_file_facts"]
