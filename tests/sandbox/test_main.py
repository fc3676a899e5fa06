"""`python -m sandbox`: validate names bad fields; serve starts each example and prints its endpoints."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from sandbox.__main__ import main
from sandbox.core import tls

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples" / "scenarios").glob("*.yaml"))


def test_validate_accepts_every_example() -> None:
    assert [p.stem for p in EXAMPLES] == ["cross-region", "large", "same-region"]
    for path in EXAMPLES:
        out = io.StringIO()
        assert main(["validate", str(path)], out=out) == 0
        assert f"scenario {path.stem!r} is valid" in out.getvalue()


def test_validate_names_the_bad_field_and_exits_non_zero(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((EXAMPLES[2]).read_text().replace("disk_gb: 60,", "disk_gb: -60,", 1))
    err = io.StringIO()
    assert main(["validate", str(bad)], out=io.StringIO(), err=err) == 2
    assert "source.vms[0].disk_gb: Input should be greater than 0" in err.getvalue()


def test_serve_refuses_a_bad_scenario_before_binding_anything(tmp_path: Path) -> None:
    err = io.StringIO()
    assert main(["serve", str(tmp_path / "missing.yaml")], out=io.StringIO(), err=err) == 2
    assert "cannot read scenario" in err.getvalue()


def _read_until_ready(process: subprocess.Popen[str]) -> list[str]:
    assert process.stdout is not None
    lines: list[str] = []
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith("ready"):
            return lines
    raise AssertionError("serve exited before it was ready:\n" + "\n".join(lines))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_serve_prints_its_endpoints_and_stops_on_interrupt(path: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable,
        "-m",
        "sandbox",
        "serve",
        str(path),
        "--clock",
        "virtual",
        "--state-dir",
        str(tmp_path),
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        lines = _read_until_ready(process)
        text = "\n".join(lines)
        arm = re.search(r"^ARM endpoint\s+(https://127\.0\.0\.1:\d+/)$", text, re.M)
        assert arm is not None, text
        assert re.search(r"^subscription\s+[0-9a-f-]{36}", text, re.M)
        assert re.search(
            r"^source cloud\s+/subscriptions/.+/providers/Microsoft\.AVS/privateClouds/", text, re.M
        )
        assert f"CA bundle          {tmp_path / 'ca.pem'}" in text
        urls = re.findall(r"^  HCX Manager\s+(https://127\.0\.0\.1:\d+)", text, re.M)
        prints = re.findall(r"^  HCX SHA-256\s+([0-9A-F:]{95})$", text, re.M)
        assert len(urls) == len(prints) == 2
        assert prints == [
            tls.fingerprint((tmp_path / f"hcx-{s}.pem").read_text()) for s in ("source", "destination")
        ]
        env_file = (tmp_path / "app.env").read_text()
        token = re.search(r"^AVS_STATIC_TOKEN=(.+)$", env_file, re.M)
        assert token is not None
        assert token.group(1) not in text
        assert (tmp_path / "app.env").stat().st_mode & 0o077 == 0
        context = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
        stats = httpx.get(arm.group(1) + "_sandbox/stats", verify=context, timeout=10)
        assert stats.status_code == 200
        described = json.loads((tmp_path / "sandbox.json").read_text())
        cloud = httpx.get(
            f"{arm.group(1)}subscriptions/{described['subscription_id']}/providers/Microsoft.AVS/privateClouds",
            params={"api-version": "2026-03-01"},
            headers={"Authorization": f"Bearer {token.group(1)}"},
            verify=context,
            timeout=10,
        )
        assert cloud.status_code == 200
        assert len(cloud.json()["value"]) == 2
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "stopped" in out
