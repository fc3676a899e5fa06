"""`python -m conductor`: the same entry point as the `conductor` console script."""

from conductor.cli import main

main()
