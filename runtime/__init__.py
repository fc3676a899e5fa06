"""The local runtime: runs the unchanged `function_app.py` with Durable replay and SQLite state."""
