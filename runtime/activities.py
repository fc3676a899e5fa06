"""Run one activity call the way the host does, and turn the outcome into a history event.

The input goes through the real `ActivityTriggerConverter.decode` (df_loads, falling back to the raw
string), the function is called with its bindings by the `Invoker`, and the return value goes through
`ActivityTriggerConverter.encode` (df_dumps) into `TaskCompleted.Result`. Any exception, including
one from encoding the result, becomes `TaskFailed` with the extension's reason format (durable.md
§6.1). Never raises for anything the function does.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from datetime import datetime
from typing import Any

from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from runtime.functions import FunctionIndex
from runtime.history import EventType, dumps, new_event
from runtime.invoke import Invoker
from runtime.store import ActivityRow

__all__ = ["run_activity"]

log = logging.getLogger("runtime.activities")


def run_activity(
    functions: FunctionIndex, invoker: Invoker, now: Callable[[], datetime], item: ActivityRow
) -> dict[str, Any]:
    """Call the activity for `item`; returns its TaskCompleted or TaskFailed event."""
    spec = functions.activities.get(item.name)
    try:
        if spec is None:
            raise LookupError(f"The function '{item.name}' doesn't exist or is not an activity function.")
        value = ActivityTriggerConverter.decode(meta.Datum(item.input, "string"), trigger_metadata={})
        result = invoker.call(spec, value)
        encoded = ActivityTriggerConverter.encode(result, expected_type=None)
        return new_event(EventType.TASK_COMPLETED, now(), TaskScheduledId=item.task_id, Result=encoded.value)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        failure = exc
    log.warning(
        "activity %s (%s) failed: %s: %s", item.name, item.instance_id, type(failure).__name__, failure
    )
    return new_event(
        EventType.TASK_FAILED,
        now(),
        TaskScheduledId=item.task_id,
        Reason=f"Activity function '{item.name}' failed: {type(failure).__name__}: {failure}",
        Details=_failure_details(failure),
    )


def _failure_details(exc: BaseException) -> str:
    # inferred: the extension serialises the worker's RpcException (durable.md §6.1); we keep its
    # Message shape ("Result: Failure / Exception: / Stack:") so code that inspects it sees the same.
    stack = "".join(traceback.format_tb(exc.__traceback__, limit=8))
    message = f"Result: Failure\nException: {type(exc).__name__}: {exc}\nStack: {stack}"
    return dumps({"$type": "RpcException", "Message": message})
