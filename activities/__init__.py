"""Durable activities, one module per outside system (avs.py, hcx.py, events.py, ...).

Every activity is idempotent (it runs at least once), takes one JSON payload and returns a small JSON
result. `blueprints` lists every blueprint so `function_app.py` can register them.
"""

import azure.durable_functions as df

from activities import avs, events, hcx, migrations, report

blueprints: list[df.Blueprint] = [avs.bp, hcx.bp, events.bp, migrations.bp, report.bp]

__all__ = ["blueprints"]
