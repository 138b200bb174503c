"""The simulated lab: a persistent digital twin of the hosts of a plan, applying the rules
real systems do and failing the way they fail (see docs/simulated-lab.md).

:class:`Lab` opens (or creates and seeds) a lab stored in SQLite; :meth:`Lab.driver` gives
the :class:`~orchestrator.engine._protocols.Driver` the engine runs a plan through;
:func:`load_faults` reads a fault file to inject failures.
"""

from __future__ import annotations

from ._driver import SimDriver
from ._faults import Fault, FaultSpec, load_faults
from ._lab import Lab
from ._store import LogEntry

__all__ = ["Fault", "FaultSpec", "Lab", "LogEntry", "SimDriver", "load_faults"]
