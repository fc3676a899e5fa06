"""`conductor`: the operator's command line (plans, submissions, live progress, reports, the demo).

Modules: `cli` (the typer app and `main`, the console script, and the `plan` commands), `migrations`
(submit, status, watch, approve, cancel, retry, report), `demo` (`make demo`), `client` (the app's
HTTP API), `progress` (the live display), `reports` (fetching and writing reports), `planfile`
(reading plans), `rvtools` (RVTools import), `hcx_inventory` (the source HCX inventory), `drafting`
(planner waves to a `MigrationPlan`, and plan estimates), `plan_reference` (docs/plan-reference.md),
`errors` (the one-line errors). Nothing is imported here, so `import conductor.rvtools` does not pay
for typer and rich.
"""

__all__: list[str] = []
