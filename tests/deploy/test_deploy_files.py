"""The deploy files, checked statically (no Docker engine here): the compose files against the
compose specification, every service's command against the ``lakehouse`` command, variables,
volumes and ports against the settings, and the Dockerfile's rules.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from deploy_support import (
    COMPOSE,
    COMPOSE_PROD,
    DOCKERIGNORE,
    Override,
    Reset,
    dockerfile_instructions,
    environment,
    exec_form,
    load_yaml,
    our_services,
    parse_lakehouse_args,
    plain,
    resolve_anchors_and_merge,
    variable_uses,
)

from lakehouse import Settings
from lakehouse.healthcheck import check

REPO = Path(__file__).resolve().parents[2]
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY\b|ACCESS_KEY|CREDENTIAL", re.IGNORECASE)
NO_ENV: dict[str, str] = {}


def _model(*files: Path) -> dict[str, Any]:
    return resolve_anchors_and_merge(files or (COMPOSE,), NO_ENV)


@pytest.fixture(scope="module")
def base() -> dict[str, Any]:
    return _model(COMPOSE)


@pytest.fixture(scope="module")
def prod() -> dict[str, Any]:
    return _model(COMPOSE, COMPOSE_PROD)


# -- the compose specification --------------------------------------------------------------


@pytest.mark.parametrize("path", [COMPOSE, COMPOSE_PROD], ids=lambda p: p.name)
def test_compose_files_follow_the_compose_specification(path: Path, shared_dir: Path) -> None:
    schema = json.loads((shared_dir / "data" / "compose-spec" / "compose-spec.json").read_text())
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(plain(load_yaml(path))), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_the_schema_check_catches_a_wrong_file(shared_dir: Path) -> None:
    schema = json.loads((shared_dir / "data" / "compose-spec" / "compose-spec.json").read_text())
    document = plain(load_yaml(COMPOSE))
    document["services"]["api"]["healthcheck"]["intervall"] = "5s"
    assert not jsonschema.Draft7Validator(schema).is_valid(document)


# -- commands --------------------------------------------------------------------------------


def test_every_service_runs_a_real_lakehouse_command(base: dict[str, Any]) -> None:
    services = our_services(base)
    assert {"api", "loader"} <= set(services)
    for name, service in services.items():
        command = service["command"]
        assert isinstance(command, list), f"{name}: exec form, so signals reach lakehouse"
        parse_lakehouse_args(command)  # raises on an unknown command or option


def test_the_command_check_refuses_what_does_not_exist() -> None:
    with pytest.raises(LookupError):
        parse_lakehouse_args(["no-such-command"])
    with pytest.raises(Exception, match="--no-such-option"):
        parse_lakehouse_args(["loader", "--no-such-option"])


def test_health_checks_are_real_checks(base: dict[str, Any]) -> None:
    services = base["services"]
    with pytest.raises(SystemExit):
        check(["no-such-check"])
    for name in our_services(base):
        if "healthcheck" not in services[name]:
            continue
        test = services[name]["healthcheck"]["test"]
        assert test[:4] == ["CMD", "python", "-m", "lakehouse.healthcheck"], name
        assert test[4] in ("health", "ready", "loader", "url"), name
    assert services["loader"]["healthcheck"]["test"][4] == "loader"
    assert services["api"]["healthcheck"]["test"][4] in ("health", "ready")
    for name, service in services.items():
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert condition["condition"] == "service_healthy", f"{name} → {dependency}"
            assert "healthcheck" in services[dependency], f"{dependency} has no health check"
    assert services["api"]["depends_on"]["loader"]["condition"] == "service_healthy"


def test_backups_are_scheduled_daily(base: dict[str, Any]) -> None:
    backup = base["services"]["backup"]
    command = backup["command"]
    parse_lakehouse_args(command)
    assert command[:2] == ["backup", "/backups"]
    assert command[command.index("--every") + 1] == "24h"
    targets = {v.split(":")[1]: v.split(":")[0] for v in backup["volumes"]}
    assert targets["/backups"] == "backups" and "backups" in base["volumes"]
    assert targets[environment(backup)["LAKEHOUSE_DADOS"]] == "dados"


# -- settings ------------------------------------------------------------------------------


def _setting(variable: str) -> str:
    assert variable.startswith("LAKEHOUSE_"), variable
    field = variable.removeprefix("LAKEHOUSE_").lower()
    assert field in Settings.model_fields, f"{variable} is not a setting"
    return field


@pytest.mark.parametrize("files", [(COMPOSE,), (COMPOSE, COMPOSE_PROD)], ids=["base", "prod"])
def test_every_variable_is_a_setting_with_a_valid_value(
    files: tuple[Path, ...], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    model = _model(*files)
    (workdir,) = [i.args for i in dockerfile_instructions() if i.keyword == "WORKDIR"][-1:]
    for name, service in our_services(model).items():
        env = environment(service)
        assert env, name
        for variable in env:
            if variable.startswith("LAKEHOUSE_"):
                _setting(variable)
        for key in [k for k in __import__("os").environ if k.startswith("LAKEHOUSE_")]:
            monkeypatch.delenv(key)
        for variable, value in env.items():
            monkeypatch.setenv(variable, value)
        assert env["LAKEHOUSE_ROOT"] == workdir, name  # the root exists in the image
        monkeypatch.setenv("LAKEHOUSE_ROOT", str(tmp_path))  # (and must exist here)
        Settings()  # every value is valid for its setting (raises otherwise)


def test_dockerfile_environment_is_settings_too() -> None:
    for ins in dockerfile_instructions():
        if ins.keyword == "ENV":
            for variable in re.findall(r"\b(LAKEHOUSE_\w+)=", ins.args):
                _setting(variable)


def test_api_and_loader_share_the_landing_zone_and_the_tables(base: dict[str, Any]) -> None:
    services = base["services"]
    mounts: dict[str, dict[str, str]] = {}
    for name in ("api", "loader"):
        env = environment(services[name])
        mounts[name] = {}
        for volume in services[name]["volumes"]:
            source, target = volume.split(":")[:2]
            mounts[name][target] = source
            assert source in base["volumes"], f"{source} is not a named volume"
        # the settings point where the volumes are mounted
        assert mounts[name].get(env["LAKEHOUSE_LANDING_ZONE"]) == "landing_zone", name
        assert mounts[name].get(env["LAKEHOUSE_DADOS"]) == "dados", name
    assert mounts["api"] == mounts["loader"]


def test_the_api_port_is_the_setting_and_exposed(base: dict[str, Any]) -> None:
    api = base["services"]["api"]
    env = environment(api)
    assert env["LAKEHOUSE_API_HOST"] == "0.0.0.0"  # reachable through the published port
    container_ports = {str(p).rsplit(":", 1)[-1] for p in api["ports"]}
    assert container_ports == {env["LAKEHOUSE_API_PORT"]}
    exposed = {
        port
        for ins in dockerfile_instructions()
        if ins.keyword == "EXPOSE"
        for port in ins.args.split()
    }
    assert env["LAKEHOUSE_API_PORT"] in exposed


def test_the_loader_serves_its_metrics_inside_the_network(base: dict[str, Any]) -> None:
    loader = base["services"]["loader"]
    env = environment(loader)
    assert env["LAKEHOUSE_LOADER_METRICS_HOST"] == "0.0.0.0"
    port = env["LAKEHOUSE_LOADER_METRICS_PORT"]
    assert [str(p) for p in loader["expose"]] == [port]
    assert "ports" not in loader  # not published
    exposed = {
        p for i in dockerfile_instructions() if i.keyword == "EXPOSE" for p in i.args.split()
    }
    assert port in exposed


def test_the_loader_can_be_told_to_poll() -> None:
    uses = {u.name: u for u in variable_uses(load_yaml(COMPOSE))}
    assert "LAKEHOUSE_FORCE_POLLING" in uses
    env = environment(_model(COMPOSE)["services"]["loader"])
    assert env["LAKEHOUSE_FORCE_POLLING"] == "false"  # named volumes deliver inotify events
    polled = resolve_anchors_and_merge((COMPOSE,), {"LAKEHOUSE_FORCE_POLLING": "true"})
    assert environment(polled["services"]["loader"])["LAKEHOUSE_FORCE_POLLING"] == "true"


def test_every_service_has_resource_limits(base: dict[str, Any]) -> None:
    for name, service in base["services"].items():
        limits = service["deploy"]["resources"]["limits"]
        assert float(limits["cpus"]) > 0, name
        assert re.fullmatch(r"\d+[kmg]", str(limits["memory"])), name


# -- secrets ---------------------------------------------------------------------------------


def test_no_secret_is_written_in_the_compose_files() -> None:
    for path in (COMPOSE, COMPOSE_PROD):
        document = load_yaml(path)
        for service in document["services"].values():
            for variable, value in environment(service).items():
                if SECRET_NAME.search(variable) and not variable.endswith("_FILE"):
                    assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", value), (
                        f"{path.name}: {variable} must come from the environment as ${{VAR:?}}"
                    )
        for use in variable_uses(document):
            if SECRET_NAME.search(use.name):
                assert use.op in (":?", "?"), f"{path.name}: {use.name} has a default"
        for name, secret in (document.get("secrets") or {}).items():
            assert set(secret) <= {"environment", "file"}, name  # never inline content
    assert not (REPO / ".env").exists() or ".env" in (REPO / ".gitignore").read_text()


# -- production ----------------------------------------------------------------------------


def test_production_restarts_rotates_logs_and_refuses_unsafe_defaults(
    prod: dict[str, Any],
) -> None:
    for name, service in prod["services"].items():
        assert service["restart"] in ("unless-stopped", "always"), name
        logging = service["logging"]
        assert logging["driver"] == "json-file", name
        assert logging["options"]["max-size"] and int(logging["options"]["max-file"]) >= 2
    for name, service in our_services(prod).items():
        assert environment(service)["LAKEHOUSE_MODE"] == "production", name


def test_production_publishes_the_api_and_the_docs_on_loopback_only(
    prod: dict[str, Any], base: dict[str, Any]
) -> None:
    published = {name: s.get("ports") or [] for name, s in prod["services"].items()}
    assert published.pop("api"), "the API is published"
    docs = published.pop("docs")
    assert docs and all(str(p).startswith("127.0.0.1:") for p in docs), docs
    assert not any(published.values()), f"debug ports in production: {published}"
    assert base["services"]["minio"]["ports"]  # the merge removed them


def test_the_override_tags_are_understood() -> None:
    document = load_yaml(COMPOSE_PROD)
    assert isinstance(document["services"]["api"]["ports"], Override)
    assert isinstance(document["services"]["minio"]["ports"], Reset)


# -- Dockerfile and build context ------------------------------------------------------------


def test_dockerfile_builds_with_uv_from_the_lock_in_cached_layers() -> None:
    instructions = dockerfile_instructions()
    runs = [(i, ins) for i, ins in enumerate(instructions) if ins.keyword == "RUN"]
    syncs = [(i, ins) for i, ins in runs if "uv sync" in ins.args]
    assert len(syncs) >= 2
    assert all("--frozen" in ins.args for _, ins in syncs), "uv sync without --frozen"
    first, last = syncs[0], syncs[-1]
    assert "--no-install-project" in first[1].args  # dependencies alone: a cached layer
    assert "--mount=type=cache" in first[1].args
    source_copy = next(
        i
        for i, ins in enumerate(instructions)
        if ins.keyword == "COPY" and "--from" not in ins.args and ins.stage == first[1].stage
    )
    assert first[0] < source_copy < last[0], "dependencies are installed before the source"
    assert "--no-dev" in first[1].args and "--no-dev" in last[1].args


def test_the_runtime_image_is_small_and_not_root() -> None:
    instructions = dockerfile_instructions()
    final = max(ins.stage for ins in instructions)
    assert final >= 1, "a multi-stage build: the runtime stage leaves uv and caches behind"
    runtime = [ins for ins in instructions if ins.stage == final]
    users = [ins.args for ins in runtime if ins.keyword == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0"), "runs as root"
    assert users[-1] == "delta-user"
    assert not any(ins.keyword == "RUN" and "uv " in ins.args for ins in runtime)
    assert not any(ins.keyword == "COPY" and "/src" in ins.args for ins in runtime)
    (entrypoint,) = [exec_form(ins.args) for ins in runtime if ins.keyword == "ENTRYPOINT"]
    assert entrypoint == ["lakehouse"]
    (cmd,) = [exec_form(ins.args) for ins in runtime if ins.keyword == "CMD"]
    if cmd != ["--help"]:  # the default: the command's help; else a real command
        parse_lakehouse_args(cmd)


def test_the_build_context_holds_every_package_and_no_data() -> None:
    import tomllib

    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", "an allow-list: nothing enters the context by accident"
    allowed = {p.removeprefix("!").rstrip("/") for p in patterns if p.startswith("!")}
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    missing = set(packages) - allowed
    assert not missing, f".dockerignore leaves packages out of the image: {sorted(missing)}"
    assert {"pyproject.toml", "uv.lock", "dbt_project", "profiles.yml"} <= allowed
    assert not allowed & {"dados", "landing_zone", ".env", ".venv", "tests", "bench"}
