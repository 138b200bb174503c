"""Renderers of a :class:`~orchestrator.plan.Plan` for review.

- :func:`render_text`: the plain-text report a change-advisory board approves;
- :func:`render_dot`: the DAG as a Graphviz DOT digraph;
- :func:`render_mermaid`: the DAG as a Mermaid flowchart.
"""

from __future__ import annotations

from .graph import render_dot, render_mermaid
from .text import render_text

__all__ = ["render_dot", "render_mermaid", "render_text"]
