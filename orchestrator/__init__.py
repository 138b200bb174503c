"""orchestrator: cluster-aware rolling upgrades from declarative playbooks.

Plan first (a reviewable dependency graph that encodes the vendor procedure's safety rules),
then run exactly the reviewed plan.
"""

__version__ = "0.1.0"
