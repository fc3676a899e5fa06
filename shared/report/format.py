"""How the report (and the CLI) write durations, sizes and times for people. Standard library only."""

from __future__ import annotations

from datetime import datetime

__all__ = ["bytes_text", "duration_text", "gbps_text", "time_text"]


def duration_text(seconds: float | None) -> str:
    """`42 s`, `13 min`, `2 h 05 min`, `3 d 4 h`; an em dash when unknown."""
    if seconds is None:
        return "—"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min" + (f" {s % 60:02d} s" if s < 600 and s % 60 else "")
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def bytes_text(n: float | None) -> str:
    """Decimal units, as HCX and the estimates use: `1.5 TB`, `820 GB`."""
    if n is None:
        return "—"
    for unit, size in (("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= size:
            value = n / size
            return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{n:.0f} B"


def gbps_text(gbps: float | None) -> str:
    if gbps is None:
        return "—"
    return f"{gbps:.2f} Gbps" if gbps < 10 else f"{gbps:.1f} Gbps"


def time_text(at: datetime | None, with_date: bool = True) -> str:
    if at is None:
        return "—"
    return at.strftime("%Y-%m-%d %H:%M UTC" if with_date else "%H:%M")
