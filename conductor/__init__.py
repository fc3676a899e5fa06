"""`conductor`: the operator's command line (plans, submissions, live progress, reports, the demo)."""
