"""azd wiring: azure.yaml, infra/main.parameters.json, the postdeploy hook and .funcignore.

The hook runs for real (`sh`), with a stand-in `azd` on PATH that records its arguments; .funcignore is
evaluated with git's own ignore matcher (`git check-ignore`), the gitignore semantics azd and Core
Tools apply to it.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.infra.bicep_model import load

REPO = Path(__file__).resolve().parents[2]
HOOK = REPO / "infra" / "hooks" / "postdeploy.sh"

# What the Function App needs at run time, and what must stay out of the package.
DEPLOYED = [
    "function_app.py",
    "host.json",
    "requirements.txt",
    "shared/__init__.py",
    "shared/telemetry.py",
    "activities/__init__.py",
    "orchestrators/__init__.py",
]
EXCLUDED = [
    "runtime/clock.py",
    "sandbox/core/scenario.py",
    "conductor/__init__.py",
    "tests/infra/test_azd.py",
    "benchmarks/__init__.py",
    "docs/deploy.md",
    "examples/logicapps/submit-plan-and-wait.json",
    "infra/main.bicep",
    ".venv/bin/python",
    ".venv-checkov/bin/checkov",
    ".tools/node_modules/.bin/azurite",
    ".git/config",
    "local.settings.json",
    "shared/__pycache__/telemetry.cpython-311.pyc",
    "state/runtime.sqlite",
]
# Top-level packages that exist only for development; deployed code must never import them.
DEV_ONLY_PACKAGES = {"runtime", "sandbox", "conductor", "tests", "benchmarks"}


def test_azure_yaml_deploys_this_folder_as_a_python_function_app() -> None:
    config = yaml.safe_load((REPO / "azure.yaml").read_text(encoding="utf-8"))
    assert config["infra"] == {"provider": "bicep", "path": "infra", "module": "main"}
    assert config["services"] == {"api": {"project": ".", "language": "python", "host": "function"}}
    hook = config["hooks"]["postdeploy"]
    assert hook["posix"]["run"] == "./infra/hooks/postdeploy.sh"
    assert hook["windows"]["run"] == "./infra/hooks/postdeploy.ps1"
    for variant in hook.values():
        assert (REPO / variant["run"]).is_file()


def test_the_service_name_in_azure_yaml_tags_the_function_app() -> None:
    main = load("main.bicep")
    app_tags = main.evaluate(main.modules["functionApp"]["config"]["params"]["appTags"])
    config = yaml.safe_load((REPO / "azure.yaml").read_text(encoding="utf-8"))
    assert app_tags["azd-service-name"] in config["services"]


def test_the_parameters_file_covers_every_required_parameter_and_nothing_unknown() -> None:
    main = load("main.bicep")
    document = json.loads((REPO / "infra" / "main.parameters.json").read_text(encoding="utf-8"))
    given = set(document["parameters"])
    required = {name for name, p in main.parameters.items() if p.get("default") is None}
    assert required <= given, f"missing: {required - given}"
    assert given <= set(main.parameters), f"unknown: {given - set(main.parameters)}"
    values = {name: p["value"] for name, p in document["parameters"].items()}
    assert values["sourcePrivateCloudId"] == "${AVS_SOURCE_PRIVATE_CLOUD_ID}"
    assert values["destinationPrivateCloudId"] == "${AVS_DESTINATION_PRIVATE_CLOUD_ID}"
    # Optional switches carry their template default, so an unset azd variable changes nothing.
    for name, env in (
        ("hcxCredentialOverrides", "HCX_CREDENTIAL_OVERRIDES"),
        ("eventSubscriptionsEnabled", "EVENT_SUBSCRIPTIONS_ENABLED"),
        ("listAdminCredentialsAsAction", "AVS_LIST_ADMIN_CREDENTIALS_AS_ACTION"),
    ):
        assert values[name] == f"${{{env}={str(main.evaluate(name)).lower()}}}", name
    assert values["avsRoleScope"] == f"${{AVS_ROLE_SCOPE={main.evaluate('avsRoleScope')}}}"
    assert (
        values["eventGridFunctionName"]
        == f"${{EVENTGRID_FUNCTION_NAME={main.evaluate('eventGridFunctionName')}}}"
    )


def test_the_event_grid_function_name_matches_the_app_when_the_trigger_exists() -> None:
    import function_app

    names = [
        f.get_function_name()
        for f in function_app.app.get_functions()
        if any(b.get_dict_repr().get("type") == "eventGridTrigger" for b in f.get_bindings())
    ]
    if not names:
        pytest.skip("function_app.py registers no Event Grid trigger yet (issue 4, item 4)")
    assert load("main.bicep").evaluate("eventGridFunctionName") in names


# --- the postdeploy hook -------------------------------------------------------------------------------


@pytest.fixture
def fake_azd(tmp_path: Path) -> Path:
    """A stand-in `azd` that appends its arguments to calls.log and fails `provision` on request."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "azd"
    script.write_text(
        "#!/bin/sh\n"
        'echo "$*" >> "$FAKE_AZD_LOG"\n'
        'if [ "$1" = "provision" ] && [ "${FAKE_AZD_PROVISION_FAILS:-}" = "1" ]; then exit 3; fi\n'
        "exit 0\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return bin_dir


def _run_hook(fake_azd: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    log = fake_azd.parent / "calls.log"
    sh = shutil.which("sh")
    assert sh is not None
    result = subprocess.run(
        [sh, str(HOOK)],
        env={"PATH": f"{fake_azd}{os.pathsep}{os.environ.get('PATH', '')}", "FAKE_AZD_LOG": str(log), **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    calls = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return result, calls


def test_the_first_deploy_enables_the_subscription_and_provisions_again(fake_azd: Path) -> None:
    result, calls = _run_hook(fake_azd)
    assert result.returncode == 0, result.stderr
    assert calls == ["env set EVENT_SUBSCRIPTIONS_ENABLED true", "provision --no-prompt"]


def test_later_deploys_do_nothing(fake_azd: Path) -> None:
    result, calls = _run_hook(fake_azd, EVENT_SUBSCRIPTIONS_ENABLED="true")
    assert result.returncode == 0, result.stderr
    assert calls == []


def test_a_failed_provision_turns_the_flag_back_off_and_fails_the_hook(fake_azd: Path) -> None:
    result, calls = _run_hook(fake_azd, FAKE_AZD_PROVISION_FAILS="1")
    assert result.returncode == 1
    assert calls == [
        "env set EVENT_SUBSCRIPTIONS_ENABLED true",
        "provision --no-prompt",
        "env set EVENT_SUBSCRIPTIONS_ENABLED false",
    ]
    assert "EVENTGRID_FUNCTION_NAME" in result.stderr


# --- .funcignore ---------------------------------------------------------------------------------------


def _ignored(tmp_path: Path, paths: list[str]) -> set[str]:
    """The paths `.funcignore` leaves out, by git's matcher in an empty repository."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, timeout=30)
    result = subprocess.run(
        ["git", "-c", f"core.excludesFile={REPO / '.funcignore'}", "check-ignore", "--no-index", "--stdin"],
        cwd=tmp_path,
        input="\n".join(paths),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    return set(result.stdout.split())


def test_the_package_leaves_out_development_tools_and_state(tmp_path: Path) -> None:
    assert _ignored(tmp_path, EXCLUDED) == set(EXCLUDED)


def test_the_package_keeps_what_the_function_app_runs(tmp_path: Path) -> None:
    assert _ignored(tmp_path, DEPLOYED) == set()


def _imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_deployed_code_imports_nothing_the_package_leaves_out() -> None:
    sources = [REPO / "function_app.py"]
    for package in ("shared", "activities", "orchestrators"):
        sources.extend(sorted((REPO / package).rglob("*.py")))
    for source in sources:
        bad = _imported_top_levels(source) & DEV_ONLY_PACKAGES
        assert not bad, f"{source.relative_to(REPO)} imports {sorted(bad)}, which .funcignore leaves out"
