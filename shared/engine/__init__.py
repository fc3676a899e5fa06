"""The wave migration engine's pure logic: decisions as functions of a compact state and HCX's answers.

    from shared.engine import WaveEngine, Tuning

    engine = WaveEngine.load(orchestrator_input)       # plan + prepared wave + compact state
    batches = engine.start_batches(now)                # admission control decides
    engine.on_started(batch, results, now)             # the start activity's answer
    engine.on_polled(rows, now)                        # one HCX query for the whole wave
    next_input = engine.dump(orchestrator_input)       # for continue_as_new

Modules: `state` (the compact per-VM rows), `spec` (a wave's static facts and the engine's tuning),
`observe` (HCX query items -> observations), `admission` (limits and meshes), `cadence` (when to poll),
`approval` (when to ask, what a timeout does), `wave` (the engine), `status` (custom status within
16 KB), `report` (the migration report), `payloads` (activity payloads, attempt tags), `cutover`
(network cutover's decisions and state), `root` (the root orchestrator's side: operator controls,
wave inputs, outcomes), `errors`.
No module here talks to HCX, ARM, storage or the clock; the orchestrators and activities do.
docs/engine.md describes how a wave runs.
"""

from shared.engine.errors import EngineError, EngineStateError
from shared.engine.observe import Observation, observe
from shared.engine.payloads import (
    CancelRequest,
    HcxTarget,
    QueryRequest,
    RescheduleRequest,
    SpecBatch,
    StartItem,
    StartRequest,
    ValidateRequest,
    VerifyItem,
    VerifyRequest,
    attempt_tag,
)
from shared.engine.report import build_report
from shared.engine.spec import Tuning, WaveSpec
from shared.engine.state import NAMES, VmRow, WaveState
from shared.engine.status import vm_rows, wave_status
from shared.engine.wave import WaveEngine

__all__ = [
    "NAMES",
    "CancelRequest",
    "EngineError",
    "EngineStateError",
    "HcxTarget",
    "Observation",
    "QueryRequest",
    "RescheduleRequest",
    "SpecBatch",
    "StartItem",
    "StartRequest",
    "Tuning",
    "ValidateRequest",
    "VerifyItem",
    "VerifyRequest",
    "VmRow",
    "WaveEngine",
    "WaveSpec",
    "WaveState",
    "attempt_tag",
    "build_report",
    "observe",
    "vm_rows",
    "wave_status",
]
