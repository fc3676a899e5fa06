"""`conductor`: the operator's command line (plans, submissions, live progress, reports, the demo).

Modules: `cli` (the typer app and `main`, the console script), `rvtools` (RVTools import), `drafting`
(planner waves to a `MigrationPlan`, and plan estimates), `errors` (the one-line errors). Nothing is
imported here, so `import conductor.rvtools` does not pay for typer and rich.
"""

__all__: list[str] = []
