"""The app's own shared code: the migration plan, typed AVS and HCX clients, findings, settings."""
