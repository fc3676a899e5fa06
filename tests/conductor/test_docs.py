"""The documents an operator reads stay true to the code: every setting any code reads is in
docs/settings.md, and every relative link in the README and the user guide lands on a file."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CODE = ["activities", "orchestrators", "shared", "runtime", "sandbox", "conductor"]
# How code here reads settings: the environment (or a mapping standing in for it), shared/settings.py's
# get(name), typer's envvar=, named constants, and the HCX_<SIDE> credential pairs.
READS = [
    r'\b(?:environ|env|settings)(?:\.get\(|\[)\s*"([A-Za-z][A-Za-z0-9_]*)"',
    r'(?<![\w.])get\(\s*"([A-Z][A-Z0-9]*_[A-Z0-9_]+)"',
    r'\bgetenv\(\s*"([A-Za-z_][A-Za-z0-9_]*)"',
    r'\benvvar="([A-Za-z_][A-Za-z0-9_]*)"',
    r'\b[A-Z_]+_SETTING = "([A-Za-z_][A-Za-z0-9_]*)"',
]
PAIRS = r'\b_pair\(\s*"([A-Z_]+)"'


def settings_read_by_code() -> dict[str, str]:
    found: dict[str, str] = {}
    files = [REPO / "function_app.py", *(p for d in CODE for p in (REPO / d).rglob("*.py"))]
    for path in files:
        text = path.read_text(encoding="utf-8")
        for pattern in READS:
            for name in re.findall(pattern, text):
                found.setdefault(name, str(path.relative_to(REPO)))
        for prefix in re.findall(PAIRS, text):
            for suffix in ("_USERNAME", "_PASSWORD"):
                found.setdefault(prefix + suffix, str(path.relative_to(REPO)))
    return found


def test_the_scan_finds_settings_from_every_kind_of_reader() -> None:
    found = settings_read_by_code()
    for name in (
        "AVS_ARM_ENDPOINT",
        "REPORT_DIR",
        "LOCAL_FUNCTION_KEYS",
        "CONDUCTOR_ENDPOINT",
        "HCX_SOURCE_PASSWORD",
    ):
        assert name in found


def test_every_setting_the_code_reads_is_in_the_settings_reference() -> None:
    reference = (REPO / "docs" / "settings.md").read_text(encoding="utf-8")
    missing = {n: where for n, where in settings_read_by_code().items() if f"`{n}`" not in reference}
    assert not missing, f"add these to docs/settings.md: {missing}"


def test_relative_links_in_the_readme_and_user_guide_land_on_files() -> None:
    for doc in (REPO / "README.md", REPO / "docs" / "user-guide.md"):
        text = doc.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if "://" in target:
                continue
            assert (doc.parent / target).exists(), f"{doc.name}: {target}"


def test_the_quick_start_is_exactly_the_two_commands_first() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    first_section = re.findall(r"^## (.+)$", readme, re.M)[0]
    assert first_section == "Quick start"
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block is not None
    assert block.group(1).split() == ["make", "demo", "make", "test"]
