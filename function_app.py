"""The Function App: composes the blueprints of `orchestrators/` and `activities/` and declares the
triggers (HTTP, queue, Event Grid). Logic lives in `shared/`; this file only wires it to bindings."""

import azure.durable_functions as df
import azure.functions as func

import activities
import orchestrators
from shared.telemetry import configure_telemetry

configure_telemetry()  # Application Insights when APPLICATIONINSIGHTS_CONNECTION_STRING is set, else a no-op
app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

for blueprint in (*orchestrators.blueprints, *activities.blueprints):
    app.register_functions(blueprint)
