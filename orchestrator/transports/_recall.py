"""Asking a host what became of a recorded step, until it has settled: the one polling rule
both transports use after a lost answer (see :mod:`._frame` for the record and the ask).

``finished`` gives the recorded response (the step is not run again); ``running`` (its
process is alive: the interpreter died or the answer was lost while the step went on) is
asked again every :data:`POLL_S` seconds until the deadline; ``gone`` (started, its process
is gone, no answer) is :class:`~orchestrator.errors.OutcomeUnknown`; ``never`` is None (the
ask voided the step, so a late copy cannot run: a new attempt is safe)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from ..errors import OutcomeUnknown, TransientError
from ._frame import FrameError, Response, recalled

log = logging.getLogger(__name__)

#: Seconds between two asks while the step still runs.
POLL_S = 0.5


def settle(host: str, step: str, ask: Callable[[], Response], deadline: float) -> Response | None:
    """Ask (``ask()`` sends one ask about ``step`` and returns its response) until the step
    has settled or ``deadline`` (:func:`time.monotonic`) has passed."""
    while True:
        state, answer = recalled(ask())
        if state == "finished":
            return answer
        if state == "never":
            return None
        if state == "gone":
            raise OutcomeUnknown(
                f"{host}: step {step} started, and its process is gone without an answer: "
                "how it ended is not known (it is not sent again)"
            )
        if time.monotonic() + POLL_S > deadline:
            raise TransientError(f"{host}: step {step} is still running past its deadline")
        time.sleep(POLL_S)


def recall(host: str, step: str, ask: Callable[[], Response], deadline: float) -> Response | None:
    """:func:`settle`, with a malformed answer as a :class:`TransientError`."""
    try:
        return settle(host, step, ask, deadline)
    except FrameError as exc:
        raise TransientError(f"{host}: malformed answer to an ask: {exc}") from None


def after_loss(
    host: str, step: str, ask: Callable[[], Response], deadline: float, why: str
) -> Response:
    """The answer to the request recorded as ``step`` was lost (``why``): the host's
    recorded answer, or :class:`TransientError` (it never started: safe to retry; or the
    host cannot be asked now), or :class:`OutcomeUnknown`."""
    log.warning("%s: %s; asking the host what became of step %s", host, why, step)
    try:
        resp = settle(host, step, ask, deadline)
    except FrameError as exc:
        raise TransientError(f"{host}: {why}; malformed answer to an ask: {exc}") from None
    except TransientError as exc:
        raise type(exc)(f"{why}; then: {exc.message}") from None
    if resp is None:
        raise TransientError(f"{host}: {why}; step {step} never started (safe to retry)")
    return resp
