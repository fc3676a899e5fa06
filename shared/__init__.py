"""The app's own shared code: the migration plan, typed AVS and HCX clients, findings, settings."""

# The surface lives in the submodules (shared.plan, shared.hcx, shared.findings, ...); importing
# `shared` itself loads nothing, so a module that needs only the plan does not pull in the SDKs.
__all__: list[str] = []
