"""Reading the deploy files as compose and Docker would: YAML with compose's tags, interpolation
of ``${VAR}`` forms, override files merged, the ``lakehouse`` command's parser, Dockerfile lines.
"""

from __future__ import annotations

import importlib
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import typer
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
COMPOSE_PROD = REPO / "docker-compose.prod.yml"
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
OUR_IMAGE = "${LAKEHOUSE_IMAGE:-full-lakehouse:latest}"


class Reset(list[Any]):
    """A value tagged ``!reset`` (compose: drop what earlier files said)."""


class Override:
    """A value tagged ``!override`` (compose: replace, do not merge)."""

    def __init__(self, value: Any) -> None:
        self.value = value


class _ComposeLoader(yaml.SafeLoader):
    pass


def _reset(loader: yaml.SafeLoader, node: yaml.Node) -> Reset:
    return Reset()


def _override(loader: yaml.SafeLoader, node: yaml.Node) -> Override:
    if isinstance(node, yaml.SequenceNode):
        return Override(loader.construct_sequence(node, deep=True))
    if isinstance(node, yaml.MappingNode):
        return Override(loader.construct_mapping(node, deep=True))
    return Override(loader.construct_scalar(node))  # type: ignore[arg-type]


_ComposeLoader.add_constructor("!reset", _reset)
_ComposeLoader.add_constructor("!override", _override)


def load_yaml(path: Path) -> dict[str, Any]:
    data = yaml.load(path.read_text(), Loader=_ComposeLoader)
    assert isinstance(data, dict)
    return data


def plain(value: Any) -> Any:
    """The document as the compose schema sees it (tags resolved to their values)."""
    if isinstance(value, Override):
        return plain(value.value)
    if isinstance(value, Reset):
        return []
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message}, $VAR; $$ is a $
_VARIABLE = re.compile(
    r"\$(?:\$|\{(?P<braced>[A-Za-z_]\w*)(?P<op>:?[-?])?(?P<arg>[^}]*)\}"
    r"|(?P<bare>[A-Za-z_]\w*))"
)


@dataclass(frozen=True)
class VariableUse:
    name: str
    op: str | None  # ":-", "-", ":?", "?" or None
    arg: str


def variable_uses(document: Any) -> list[VariableUse]:
    uses: list[VariableUse] = []
    for text in _strings(document):
        for m in _VARIABLE.finditer(text):
            if m.group(0) == "$$":
                continue
            name = m.group("braced") or m.group("bare")
            uses.append(VariableUse(name, m.group("op"), m.group("arg") or ""))
    return uses


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, Override):
        return _strings(value.value)
    return []


class MissingVariableError(LookupError):
    pass


def interpolate(document: Any, env: Mapping[str, str]) -> Any:
    """Compose's interpolation of ``document`` with the variables ``env``."""
    if isinstance(document, str):
        return _VARIABLE.sub(lambda m: _substitute(m, env), document)
    if isinstance(document, dict):
        return {k: interpolate(v, env) for k, v in document.items()}
    if isinstance(document, Reset):
        return Reset()
    if isinstance(document, list):
        return [interpolate(v, env) for v in document]
    if isinstance(document, Override):
        return Override(interpolate(document.value, env))
    return document


def _substitute(m: re.Match[str], env: Mapping[str, str]) -> str:
    if m.group(0) == "$$":
        return "$"
    name = m.group("braced") or m.group("bare")
    op, arg = m.group("op"), m.group("arg") or ""
    value = env.get(name)
    if op in (":-", "-"):
        return arg if value is None or (op == ":-" and value == "") else value
    if op in (":?", "?"):
        if value is None or (op == ":?" and value == ""):
            raise MissingVariableError(f"{name}: {arg or 'required'}")
        return value
    return value or ""


def merge(base: Any, override: Any) -> Any:
    """``docker compose -f base -f override``: mappings merge, sequences append, tags rule."""
    if isinstance(override, Reset):
        return []
    if isinstance(override, Override):
        return plain(override.value)
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = merge(base[key], value) if key in base else plain(value)
        return merged
    if isinstance(base, list) and isinstance(override, list):
        return base + [v for v in plain(override) if v not in base]
    return plain(override)


def resolve_anchors_and_merge(files: Sequence[Path], env: Mapping[str, str]) -> dict[str, Any]:
    """The effective model of ``files`` (YAML anchors are resolved by the loader already)."""
    model: Any = {}
    for path in files:
        model = merge(model, interpolate(load_yaml(path), env))
    assert isinstance(model, dict)
    return model


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def our_services(model: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Services that run the lakehouse image (not MinIO)."""
    return {
        name: svc
        for name, svc in model["services"].items()
        if "build" in svc or str(svc.get("image", "")).startswith("full-lakehouse")
    }


# -- the `lakehouse` command ------------------------------------------------------------------


def lakehouse_command() -> Any:
    """The (typer) command group behind the installed ``lakehouse`` script, wherever it lives."""
    (script,) = entry_points(group="console_scripts", name="lakehouse")
    module = importlib.import_module(script.value.split(":")[0])
    return typer.main.get_command(module.app)


class UnknownCommandError(LookupError):
    pass


def parse_lakehouse_args(args: Sequence[str]) -> Any:
    """Parse ``lakehouse ARGS`` as the command would, without running it; the leaf command.

    Raises UnknownCommandError, or the parser's own usage error for an unknown option or a bad
    value.
    """
    command = lakehouse_command()
    rest = list(args)
    parent = None
    name = "lakehouse"
    while hasattr(command, "commands"):  # a group
        # the group's own options come first (flags only: ``--verbose``); then a command name
        flags = {opt for p in command.params for opt in p.opts}
        while rest and rest[0] in flags:
            rest.pop(0)
        if not rest or rest[0] not in command.commands:
            raise UnknownCommandError(f"no such command in lakehouse {' '.join(args)}")
        parent = command.context_class(command, info_name=name, parent=parent)
        name = rest.pop(0)
        command = command.commands[name]
    command.make_context(name, rest, parent=parent, resilient_parsing=False)
    return command


# -- Dockerfile --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    stage: int  # index of the FROM it belongs to


def dockerfile_instructions(path: Path = DOCKERFILE) -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    logical: list[str] = []
    current = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    instructions: list[Instruction] = []
    stage = -1
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        instructions.append(Instruction(keyword, args.strip(), stage))
    return instructions


def exec_form(args: str) -> list[str]:
    """``["a", "b"]`` (JSON form) or a shell line, as a list of words."""
    if args.startswith("["):
        value = yaml.safe_load(args)
        assert isinstance(value, list)
        return [str(v) for v in value]
    return shlex.split(args)
