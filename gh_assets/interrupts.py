"""Interrupts stop the run: a SIGINT/SIGTERM inside a step with a retry policy is never retried.

Dagster's op error boundary turns an interrupt (``KeyboardInterrupt`` or ``DagsterExecutionInterruptedError``,
which is how SIGINT and SIGTERM arrive during a step) into a ``RetryRequested`` when the step has a retry
policy (dagster 1.13 ``execution/plan/utils.py``: "respect retry policy when interrupts occur"). Our ingestion
steps retry transient failures, so Ctrl-C restarted the step after its delay and only the third signal
stopped the run.

The boundary lets any ``DagsterError`` through untouched, and the step executor ends the run on an
``DagsterExecutionInterruptedError`` (the step is marked failed as interrupted, the run fails). An exception
that is both does exactly that, whatever the retry policy.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from dagster._core.errors import DagsterError, DagsterExecutionInterruptedError


class RunInterrupted(DagsterError, DagsterExecutionInterruptedError):
    """A step was interrupted (SIGINT/SIGTERM): the run stops now, with no retry."""


@contextlib.contextmanager
def interrupts_stop_the_run() -> Iterator[None]:
    """Re-raise an interrupt inside the block as :class:`RunInterrupted`, which no retry policy retries."""
    try:
        yield
    except RunInterrupted:
        raise
    except (KeyboardInterrupt, DagsterExecutionInterruptedError) as exc:
        raise RunInterrupted("interrupted (SIGINT/SIGTERM): the run stops without retrying the step") from exc
