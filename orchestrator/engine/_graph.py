"""The run graph the engine schedules by; it lives in :mod:`orchestrator.rungraph` so that the
estimator predicts a run from the very same graph."""

from ..rungraph import CLOSERS, OPENERS, RunGraph, Span, SpanKey, span_keys

__all__ = ["CLOSERS", "OPENERS", "RunGraph", "Span", "SpanKey", "span_keys"]
