"""The sandbox: two simulated AVS private clouds (Microsoft.AVS ARM and HCX Manager) over TLS."""
