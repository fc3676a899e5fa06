"""Plans for the plan tests: built fresh by each call, so no test can change another's data."""

from __future__ import annotations

from typing import Any

SUB = "00000000-0000-4000-8000-000000000001"
SOURCE = f"/subscriptions/{SUB}/resourceGroups/rg-east/providers/Microsoft.AVS/privateClouds/pc-east"
DESTINATION = f"/subscriptions/{SUB}/resourceGroups/rg-west/providers/Microsoft.AVS/privateClouds/pc-west"
PIN = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"

PLAN_YAML = f"""
id: east-to-west-2026
description: Move the east estate to westus
source: {SOURCE}
destination: {DESTINATION}
connectivity: {{mode: auto, allow_create: true}}
hcx:
  service_mesh: auto
  trusted_fingerprints: ["{PIN}"]
network_extensions:
  - {{source_network: VLAN100, gateway_cidr: 10.1.100.1/24, destination_gateway: TNT-T1, mon: true}}
  - {{source_network: VLAN200, gateway_cidr: 10.1.200.1/24, destination_gateway: TNT-T1}}
destination_networks: [seg-reip]
migration:
  type: bulk
  switchover_window: {{start: 2026-01-10T22:00:00Z, end: 2026-01-11T04:00:00+00:00}}
  approval: {{required: true, timeout: 4h, on_timeout: skip_wave}}
  placement: {{cluster: Cluster-1, datastore: vsanDatastore, folder: Migrated}}
  network_mappings:
    - {{source: VLAN300, destination: seg-reip}}
waves:
  - name: wave-1
    vms: [app01, app02]
  - name: wave-2
    selection: {{folders: [Web], name_patterns: ["web-*"], exclude: [web-legacy]}}
    migration:
      type: vmotion
      switchover_window: immediate
      approval: {{required: false}}
  - name: wave-3
    selection: {{name_patterns: ["db-*"]}}
    migration: {{type: rav, placement: {{resource_pool: RP-DB}}}}
limits: {{max_concurrent_migrations: 100, max_failures_per_wave: 2, poll: {{small_vm: 60s}}}}
network_cutover:
  networks: [VLAN100, VLAN200]
  approval: {{required: true}}
notifications:
  event_grid_topic: https://topic.westeurope-1.eventgrid.azure.net/api/events
  webhooks: [{{name: ops, url_setting: OPS_WEBHOOK_URL}}]
"""


def minimal_plan() -> dict[str, Any]:
    """The smallest valid plan: one wave of two VMs, every other field at its default."""
    return {
        "id": "minimal-plan",
        "source": SOURCE,
        "destination": DESTINATION,
        "waves": [{"name": "wave-1", "vms": ["app01", "app02"]}],
    }


def full_plan() -> dict[str, Any]:
    """The documented example (PLAN_YAML) as data."""
    import yaml

    data: dict[str, Any] = yaml.safe_load(PLAN_YAML)
    return data
