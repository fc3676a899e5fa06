"""What both simulators share: the scenario, the clock, faults, TLS material and the server seam.

Import the modules themselves (`sandbox.core.scenario`, `.world`, `.tls`, `.faults`, `.server`,
`.introspection`); this package re-exports nothing, so importing one never loads the others.
"""

__all__: list[str] = []
