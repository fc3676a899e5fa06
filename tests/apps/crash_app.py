"""A Function App for the crash test: every activity appends its key to a side-effect journal.

The journal path comes from app setting CRASH_JOURNAL (the test writes it into a local.settings.json
it passes to `python -m runtime start --settings`). Each line is written with O_APPEND and fsync before
the activity returns, so a line exists for every activity that finished its work, even if the runtime
is killed before it records the result.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.activity_trigger(input_name="step")
def record_step(step: dict[str, str]) -> str:
    line = f"{step['instance']}|{step['key']}\n".encode()
    fd = os.open(os.environ["CRASH_JOURNAL"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
    # More work after the side effect: a kill now makes the runtime run this activity again.
    time.sleep(0.05)
    return step["key"]


@app.orchestration_trigger(context_name="context")
def crashy(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    me = context.instance_id
    done = []
    for n in range(4):
        done.append((yield context.call_activity("record_step", {"instance": me, "key": f"seq-{n}"})))
    yield context.create_timer(context.current_utc_datetime + timedelta(milliseconds=300))
    done += yield context.task_all(
        [context.call_activity("record_step", {"instance": me, "key": f"fan-{n}"}) for n in range(4)]
    )
    return done
