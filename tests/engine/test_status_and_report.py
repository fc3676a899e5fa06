"""The wave's custom status within Durable's 16 KB limit, and the report assembled from results."""

from __future__ import annotations

import json
from datetime import timedelta

from shared.engine import build_report, vm_rows, wave_status
from shared.engine.observe import COMPLETE, LOST
from shared.engine.state import TRANSFER
from shared.report import render_html, render_json, render_markdown
from tests.engine import synthetic as syn
from tests.engine.synthetic import NOW


def utf16_bytes(view: dict) -> int:  # type: ignore[type-arg]
    return len(json.dumps(view).encode("utf-16-le"))


def test_a_small_wave_shows_every_vm_by_name() -> None:
    plan = syn.plan(3)
    e = syn.engine(plan, syn.prepared(plan))
    syn.validate_all(e)
    ids = syn.start_all(e)
    syn.poll(e, [syn.obs(ids[0], TRANSFER, done=40, total=100)], NOW)
    view = wave_status(e, NOW)
    assert view["state"] == "transferring"
    assert view["counts"] == {"queued": 2, "transferring": 1}
    rows = {row["name"]: row for row in vm_rows(view)}
    vm = e.spec.vms[[v.ids[-1] if v.ids else None for v in e.state.vms].index(ids[0])].name
    assert (rows[vm]["state"], rows[vm]["bytes_done"], rows[vm]["migration_id"]) == (
        "transferring",
        40,
        ids[0],
    )


def test_a_thousand_vm_wave_stays_under_16_kb_and_decodes_with_the_names() -> None:
    plan = syn.plan(1000, limits={"max_concurrent_migrations": 300})
    context = syn.prepared(plan, meshes=2)
    e = syn.engine(plan, context)
    syn.validate_all(e)
    ids = []
    while batch := syn.start_all(e):
        ids += batch
    syn.poll(e, [syn.obs(mid, TRANSFER, done=5, total=10) for mid in ids], NOW)
    view = wave_status(e, NOW)
    assert utf16_bytes(view) < 16 * 1024
    assert "vms" not in view
    names = [vm.name for vm in context.waves[0].vms]
    rows = vm_rows(view, names)
    assert len(rows) == 1000
    assert sum(1 for row in rows if row["state"] == "transferring") == 300
    assert rows[0]["name"] == "vm-000"


def test_the_report_sets_actual_figures_beside_the_plan() -> None:
    plan = syn.plan(2, limits={"max_attempts": 1, "max_failures_per_wave": 1})
    context = syn.prepared(plan)
    e = syn.engine(plan, context)
    e.begin(NOW)
    syn.validate_all(e)
    a, b = syn.start_all(e)
    later = NOW + timedelta(hours=1)
    syn.poll(
        e, [syn.obs(a, COMPLETE, done=70, total=70), syn.obs(b, LOST, done=10, error="disk error")], later
    )
    e.on_verified(e.verify_batch(), [[True, []]], later)
    result = e.finish(later)
    report = build_report(plan, context, [result], status="completed_with_failures", started=NOW, ended=later)
    assert report.totals.by_state == {"migrated": 1, "failed": 1}
    assert report.totals.bytes_transferred == 80
    assert report.waves[0].state == "completed_with_failures"
    assert report.waves[0].planned_duration_s is not None
    failed = next(vm for vm in report.vms if vm.state == "failed")
    assert (failed.error, failed.attempts, failed.hcx_migration_ids) == ("disk error", 1, [b])
    codes = {f.code for f in report.findings}
    assert {"VM_MIGRATION_FAILED"} <= codes
    for text in (render_json(report), render_markdown(report), render_html(report)):
        assert b in text


def test_waves_that_never_ran_are_reported_as_skipped() -> None:
    plan = syn.plan(2)
    context = syn.prepared(plan)
    report = build_report(plan, context, [], status="cancelled", started=NOW, ended=NOW)
    assert [vm.state for vm in report.vms] == ["skipped", "skipped"]
    assert report.waves[0].state == "skipped"
