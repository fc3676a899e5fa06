"""The live progress display `conductor watch` and `conductor demo` share, built with rich.

`render(view, meter, now, notes)` draws one frame from the status document the app serves
(`GET /api/migrations/{id}`, docs/api.md): the phase, a bar per wave, the VMs counted by state, the
throughput and the ETA set against each wave's switchover window, the networks, the latest findings,
and the CLI's own notes (e.g. "auto-approved …"). `Meter` keeps the few samples the throughput needs;
`outcome(view)` says how a finished migration ended. Pure functions of their arguments: no HTTP, no
clock of its own (the caller passes `now`: wall time for a deployed app, the demo's simulated time).

The view is read leniently: fields the engine adds later are used when present and missing ones are
skipped, so an older or newer app still draws. Depends on rich and `shared.report.format` only.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from shared.report.format import bytes_text, duration_text, gbps_text

__all__ = ["FAILED_PHASES", "Meter", "Outcome", "outcome", "render", "vm_counts", "wave_progress"]

# How the migration ended, when it did not succeed (`watch` exits non-zero on these).
FAILED_PHASES = frozenset({"blocked", "failed", "cancelled"})
# A VM in one of these states has nothing left to do in its wave.
_FINISHED_VMS = frozenset({"migrated", "failed", "blocked", "cancelled", "skipped"})
_STYLE = {
    "completed": "green",
    "migrated": "green",
    "prepared": "green",
    "completed_with_failures": "yellow",
    "failed": "red",
    "blocked": "red",
    "halted": "red",
    "cancelled": "bright_black",
    "skipped": "bright_black",
    "awaiting_approval": "magenta",
    "waiting_for_window": "yellow",
    "waiting": "yellow",
    "switchover": "dark_orange",
    "transferring": "blue",
    "queued": "blue",
    "not started": "bright_black",
}
# The order in which VM states are listed: what is done first, then what moves, then what waits.
_STATE_ORDER = (
    "migrated",
    "switchover",
    "verifying",
    "transferring",
    "queued",
    "waiting",
    "ready",
    "pending",
    "not started",
    "failed",
    "blocked",
    "cancelling",
    "cancelled",
    "skipped",
)


def _style(state: str) -> str:
    return _STYLE.get(state, "cyan")


def _label(state: str) -> str:
    return state.replace("_", " ")


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _hhmm(moment: datetime | None, now: datetime) -> str:
    """`21:40`, or `08:00+1d` for a later day (as timetables write it): short enough for a column."""
    if moment is None:
        return "—"
    days = (moment.date() - now.date()).days
    return moment.strftime("%H:%M") + (f"{days:+d}d" if days else "")


# --- reading the view ----------------------------------------------------------------------------


def _not_started(wave: Mapping[str, Any]) -> bool:
    # Before a wave's engine publishes, the view lists its VMs from the prepared context ("ready").
    return str(wave.get("state") or "prepared") in ("prepared", "pending") and not wave.get("counts")


def vm_counts(wave: Mapping[str, Any]) -> dict[str, int]:
    """A wave's VMs by state: the engine's `counts`, else counted from `vms` (all "not started" while
    the wave has not begun), else the plan's count."""
    counts = wave.get("counts")
    if isinstance(counts, Mapping) and counts:
        return {str(k): int(v) for k, v in counts.items() if isinstance(v, int | float)}
    vms = wave.get("vms")
    if _not_started(wave):
        total = len(vms) if isinstance(vms, Mapping) and vms else int(wave.get("vm_count") or 0)
        return {"not started": total} if total else {}
    if isinstance(vms, Mapping) and vms:
        out: dict[str, int] = {}
        for row in vms.values():
            state = (
                row.get("state")
                if isinstance(row, Mapping)
                else (row[0] if isinstance(row, list | tuple) and row else None)
            )
            name = str(state or "pending")
            out[name] = out.get(name, 0) + 1
        return out
    total = int(wave.get("vm_count") or 0)
    return {"not started": total} if total else {}


def wave_progress(wave: Mapping[str, Any]) -> tuple[int, int]:
    """(bytes done, bytes to move) for one wave; before it starts, its used bytes are still to move."""
    total = int(wave.get("bytes_total") or 0)
    if total:
        return min(int(wave.get("bytes_done") or 0), total), total
    planned = int(wave.get("used_bytes") or wave.get("disk_bytes") or 0)
    if wave.get("state") in ("completed", "completed_with_failures", "skipped", "cancelled"):
        return planned, planned
    return 0, planned


def _merge(counts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in counts:
        for state, n in c.items():
            out[state] = out.get(state, 0) + n
    return out


def _ordered(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    known = [(s, counts[s]) for s in _STATE_ORDER if counts.get(s)]
    other = sorted((s, n) for s, n in counts.items() if n and s not in _STATE_ORDER)
    return known + other


@dataclass(frozen=True)
class Outcome:
    """How a finished migration ended: `ok` is False for blocked, failed and cancelled, and for a
    migration that completed with VMs that failed for good."""

    phase: str
    ok: bool
    text: str


def outcome(view: Mapping[str, Any]) -> Outcome | None:
    """None while the migration runs; else its end, in one line."""
    if not view.get("done"):
        return None
    phase = str(view.get("phase") or "")
    detail = str(view.get("detail") or "")
    detail = "" if detail.replace("_", " ") == _label(phase) else detail
    counts = _merge(vm_counts(w) for w in view.get("waves") or [])
    moved = counts.get("migrated", 0)
    total = sum(counts.values())
    failed = counts.get("failed", 0) + counts.get("blocked", 0)
    summary = f"{moved}/{total} VMs migrated" + (f", {failed} failed" if failed else "") if total else ""
    parts = [p for p in (summary, detail) if p]
    text = f"migration {view.get('id')} ended {_label(phase)}" + (f": {'; '.join(parts)}" if parts else "")
    # A migration that completed with VMs failed for good did not do what the plan asked either.
    result = view.get("result")
    partial = isinstance(result, Mapping) and result.get("status") == "completed_with_failures"
    return Outcome(phase, phase not in FAILED_PHASES and not partial, text)


# --- throughput ----------------------------------------------------------------------------------


class Meter:
    """Throughput from successive (time, bytes moved) samples, over the last `span` of migration time.

    Bytes only move when a wave publishes (every poll, 1.5 to 15 minutes of HCX time), so the rate is
    measured across several polls, never between two screen refreshes.
    """

    def __init__(self, span: timedelta = timedelta(minutes=30)) -> None:
        self.span = span
        self._samples: deque[tuple[datetime, int]] = deque()
        self._floor = 0  # bytes already counted; a retry that resets a VM's bytes never goes negative

    def add(self, at: datetime, moved: int) -> None:
        moved = max(moved, self._floor)
        self._floor = moved
        if self._samples and at <= self._samples[-1][0]:
            self._samples[-1] = (self._samples[-1][0], moved)
            return
        self._samples.append((at, moved))
        while len(self._samples) > 2 and at - self._samples[1][0] >= self.span:
            self._samples.popleft()

    def gbps(self) -> float | None:
        """The rate over the kept samples, in Gbit/s; None until two samples span some time."""
        if len(self._samples) < 2:
            return None
        (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
        seconds = (t1 - t0).total_seconds()
        if seconds <= 0:
            return None
        return (b1 - b0) * 8 / seconds / 1e9


def moved_bytes(view: Mapping[str, Any]) -> int:
    """All bytes the waves report moved so far."""
    return sum(wave_progress(w)[0] for w in view.get("waves") or [] if w.get("bytes_total"))


# --- drawing -------------------------------------------------------------------------------------


def _header(view: Mapping[str, Any], now: datetime, clock_note: str) -> Panel:
    phase = str(view.get("phase") or "submitted")
    waves = view.get("waves") or []
    active = next(
        (w for w in waves if w.get("state") not in (None, "prepared", "ready", "pending") and not _over(w)),
        None,
    )
    line = Text()
    line.append(_label(phase), style=f"bold {_style(phase)}")
    step = str(view.get("step") or "") if phase not in ("waves", "completed") else ""
    if active is not None and phase == "waves":
        position = waves.index(active) + 1
        line.append(f"  wave {position}/{len(waves)} ")
        line.append(str(active.get("name")), style="bold")
        line.append(f": {_label(str(active.get('state')))}", style=_style(str(active.get("state"))))
    elif step:
        line.append(f"  {step}")
    elif view.get("detail") and str(view.get("detail")).replace("_", " ") != _label(phase):
        line.append(f"  {view.get('detail')}")
    when = Text(f"{now.strftime('%Y-%m-%d %H:%M UTC')}{clock_note}", style="dim")
    started = _time(view.get("created"))
    if started is not None and now > started:
        when.append(f" · running {duration_text((now - started).total_seconds())}", style="dim")
    return Panel(
        Group(line, when),
        title=f"[bold]HCX Conductor[/] · {escape(str(view.get('id') or ''))}",
        title_align="left",
        border_style=_style(phase) if view.get("done") else "blue",
    )


def _over(wave: Mapping[str, Any]) -> bool:
    state = str(wave.get("state") or "")
    return state in ("completed", "completed_with_failures", "halted", "skipped", "cancelled")


def _window(wave: Mapping[str, Any]) -> tuple[datetime | None, datetime | None]:
    window = wave.get("window")
    if not isinstance(window, Mapping):
        return None, None
    return _time(window.get("start")), _time(window.get("end"))


def _wave_eta(wave: Mapping[str, Any], now: datetime, gbps: float | None) -> datetime | None:
    eta = _time(wave.get("eta"))
    if eta is not None:
        return eta
    done, total = wave_progress(wave)
    if not wave.get("bytes_total") or done >= total or not gbps:
        return None
    return now + timedelta(seconds=(total - done) * 8 / (gbps * 1e9))


def _eta_cell(wave: Mapping[str, Any], now: datetime, gbps: float | None) -> Text:
    """When the wave's transfers should be done; red and marked when that is after its window closes."""
    if _over(wave):
        return Text("—", style="dim")
    eta = _wave_eta(wave, now, gbps)
    if eta is None:
        return Text("—", style="dim")
    _, end = _window(wave)
    if end is not None and eta > end:
        return Text(f"{_hhmm(eta, now)} late", style="bold red")
    return Text(_hhmm(eta, now), style="green" if end is not None else "")


def _windows(waves: Sequence[Mapping[str, Any]], now: datetime, gbps: float | None) -> list[Text]:
    """One line per wave still to finish that has a switchover window: when it opens, and whether
    the transfers' ETA fits in it."""
    lines = []
    for wave in waves:
        start, end = _window(wave)
        if start is None or end is None or _over(wave):
            continue
        line = Text("Window ", style="bold")
        line.append(f"{wave.get('name')} ", style="bold")
        line.append(f"{_hhmm(start, now)}–{_hhmm(end, now)}")
        if now < start:
            line.append(f", opens in {duration_text((start - now).total_seconds())}", style="dim")
        elif now <= end:
            line.append(f", open for {duration_text((end - now).total_seconds())}", style="dim")
        else:
            line.append(", closed", style="red")
        eta = _wave_eta(wave, now, gbps)
        if eta is not None:
            fits = eta <= end
            line.append(
                f" · transfers ETA {_hhmm(eta, now)} " + ("fits ✓" if fits else "is after it closes ✗"),
                style="green" if fits else "bold red",
            )
        lines.append(line)
    return lines


def _bar(fraction: float, bad: bool, width: int = 16) -> Text:
    """A bar drawn with text, so the percentage shares its column."""
    full = round(width * min(max(fraction, 0.0), 1.0))
    colour = "red" if bad else "green" if fraction >= 1 else "blue"
    bar = Text("━" * full, style=colour)
    bar.append("─" * (width - full), style="bright_black")
    bar.append(f" {100 * fraction:3.0f}%")
    return bar


def _waves_table(waves: Sequence[Mapping[str, Any]], now: datetime, gbps: float | None) -> Table:
    names = max((len(str(w.get("name"))) for w in waves), default=4)
    table = Table(expand=False, box=None, pad_edge=False, header_style="bold", padding=(0, 1))
    table.add_column("wave", no_wrap=True, min_width=max(4, names))
    table.add_column("type", no_wrap=True)
    table.add_column("state", no_wrap=True, min_width=17)
    table.add_column("data moved", no_wrap=True, min_width=21)
    table.add_column("VMs", justify="right", no_wrap=True)
    table.add_column("data", justify="right", no_wrap=True)
    table.add_column("ETA", no_wrap=True)
    for wave in waves:
        state = "not started" if _not_started(wave) else str(wave.get("state") or "pending")
        done, total = wave_progress(wave)
        fraction = done / total if total else (1.0 if _over(wave) else 0.0)
        counts = vm_counts(wave)
        vms = sum(counts.values())
        finished = sum(n for s, n in counts.items() if s in _FINISHED_VMS)
        bad = sum(counts.get(s, 0) for s in ("failed", "blocked"))
        table.add_row(
            escape(str(wave.get("name"))),
            escape(str(wave.get("type") or "")),
            Text(_label(state), style=_style(state)),
            _bar(fraction, bool(bad)),
            f"{finished}/{vms}" + (f" [red]({bad} failed)[/]" if bad else ""),
            f"{bytes_text(total)}" if total else "—",
            _eta_cell(wave, now, gbps),
        )
    return table


def _counts_line(counts: Mapping[str, int]) -> Text:
    line = Text("VMs  ", style="bold")
    total = sum(counts.values())
    for i, (state, n) in enumerate(_ordered(counts)):
        if i:
            line.append(" · ", style="dim")
        line.append(f"{n} {_label(state)}", style=_style(state))
    line.append(f"   of {total}", style="dim")
    return line


def _data_line(view: Mapping[str, Any], now: datetime, gbps: float | None) -> Text:
    waves = view.get("waves") or []
    moved = sum(wave_progress(w)[0] for w in waves)
    total = sum(wave_progress(w)[1] for w in waves)
    line = Text("Data ", style="bold")
    line.append(f"{bytes_text(moved)} of {bytes_text(total)}")
    started = _time(view.get("created"))
    if view.get("done") and started is not None and now > started and moved:
        # Over: the rate of the last half hour is zero; the run's average says more.
        line.append(" · average ", style="dim")
        line.append(gbps_text(moved * 8 / (now - started).total_seconds() / 1e9))
        line.append(f" over {duration_text((now - started).total_seconds())}", style="dim")
        return line
    line.append(" · throughput ", style="dim")
    line.append(gbps_text(gbps) if gbps is not None and moved else "measuring…")
    if gbps and total > moved and not view.get("done"):
        seconds = (total - moved) * 8 / (gbps * 1e9)
        line.append(" · transfers done in ", style="dim")
        line.append(f"~{duration_text(seconds)}")
        line.append(f" ({_hhmm(now + timedelta(seconds=seconds), now)})", style="dim")
    return line


def _networks_line(networks: Sequence[Mapping[str, Any]]) -> Text | None:
    if not networks:
        return None
    line = Text("Networks ", style="bold")
    for i, n in enumerate(networks):
        if i:
            line.append(" · ", style="dim")
        state = str(n.get("state") or "")
        line.append(f"{n.get('name')} ")
        line.append(_label(state), style=_style(state) if state not in ("extended", "cut_over") else "green")
    return line


def _findings(view: Mapping[str, Any], limit: int = 4) -> list[Text]:
    findings = [f for f in view.get("findings") or [] if isinstance(f, Mapping)]
    total = int(view.get("findings_total") or len(findings))
    if not findings:
        return []
    out = [Text(f"Findings ({total})", style="bold")]
    for f in findings[:limit]:
        severity = str(f.get("severity") or "info")
        colour = {"error": "red", "warning": "yellow"}.get(severity, "cyan")
        line = Text("  ")
        line.append(f"{severity:<7} ", style=colour)
        line.append(f"{f.get('code')} ", style="bold")
        line.append(str(f.get("message") or ""))
        out.append(line)
    if total > limit:
        out.append(Text(f"  … and {total - limit} more (`conductor status --json`)", style="dim"))
    return out


def render(
    view: Mapping[str, Any],
    meter: Meter | None = None,
    now: datetime | None = None,
    notes: Sequence[str] = (),
    clock_note: str = "",
) -> RenderableType:
    """One frame: header, waves, VM counts, data and ETA, networks, findings, notes, and the end."""
    moment = now or datetime.now(UTC)
    gbps = meter.gbps() if meter is not None else None
    waves = [w for w in view.get("waves") or [] if isinstance(w, Mapping)]
    parts: list[RenderableType] = [_header(view, moment, clock_note)]
    if waves:
        parts.append(_waves_table(waves, moment, gbps))
        parts.append(Text())
        parts.append(_counts_line(_merge(vm_counts(w) for w in waves)))
        parts.append(_data_line(view, moment, gbps))
        parts.extend(_windows(waves, moment, gbps))
    networks = _networks_line([n for n in view.get("networks") or [] if isinstance(n, Mapping)])
    if networks is not None:
        parts.append(networks)
    parts.extend(_findings(view))
    for note in notes:
        parts.append(Text.from_markup(f"[bold cyan]›[/] {note}"))
    end = outcome(view)
    if end is not None:
        parts.append(
            Text(("✓ " if end.ok else "✗ ") + end.text, style="bold green" if end.ok else "bold red")
        )
    return Group(*parts)
