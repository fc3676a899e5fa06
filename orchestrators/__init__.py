"""Durable orchestrators: each module reads top to bottom like a runbook step and owns one blueprint.

`blueprints` lists every blueprint so `function_app.py` can register them without knowing the modules.
"""

import azure.durable_functions as df

from orchestrators import cutover, migration, prepare, wave

blueprints: list[df.Blueprint] = [migration.bp, prepare.bp, wave.bp, cutover.bp]

__all__ = ["blueprints"]
