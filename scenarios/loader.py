"""Read scenario files: TOML, `extends` chains, `--set` overrides, clear errors.

Every failure raises `ScenarioError` with one paragraph that names the file, the key path
and what was expected, so the command line can print it without a traceback.
"""

from __future__ import annotations

import difflib
import json
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .schema import Scenario

SCENARIO_DIR = Path(__file__).resolve().parent
COMMUNITY_DIR = SCENARIO_DIR / "communities"


class ScenarioError(ValueError):
    """A scenario file or override is missing, malformed or out of range."""


def _save_as_utf8(encoding: str) -> str:
    """How to save a file as UTF-8, in the editors a teacher is likely to have, or convert it."""
    return (
        "Save it as UTF-8: in Notepad, File > Save As > Encoding: UTF-8; in VS Code, click the encoding in the "
        f"status bar > Save with Encoding > UTF-8; or convert it with `iconv -f {encoding} -t UTF-8 old.toml > new.toml`."
    )


def _not_a_text_scenario(path: Path, raw: bytes) -> str | None:
    """Why `raw` is not a UTF-8 TOML text, in one paragraph, or None if it is UTF-8.

    TOML files are UTF-8 by definition, so a file in another encoding is refused rather than
    guessed at: a guess (GBK, the default of many Chinese Windows editors, decodes most byte
    strings) would turn some other encoding into wrong names without a word, and the same file
    would fail in every other TOML tool. The message says which encoding it most likely is.
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return f'{path}: is saved as UTF-16 (Windows\' "Unicode"), not UTF-8, which TOML requires. {_save_as_utf8("UTF-16")}'
    if b"\x00" in raw[:8192]:
        return (
            f"{path}: is a binary file, not a TOML scenario. A scenario is a text file of `key = value` lines, "
            "like scenarios/baseline.toml; `python run.py scenarios` lists the ones that come with the model."
        )
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        try:
            raw.decode("gb18030")
        except UnicodeDecodeError:
            return (
                f"{path}: is not text in UTF-8 (undecodable bytes on line {line}), so it is not a TOML scenario. "
                "If it is a scenario saved in another encoding, save it as UTF-8; otherwise pass a .toml file "
                "such as scenarios/baseline.toml."
            )
        return (
            f"{path}: is not UTF-8, which TOML requires: it looks saved as GBK/GB18030 (the default of many Chinese "
            f"Windows editors; first non-UTF-8 byte on line {line}). {_save_as_utf8('GB18030')}"
        )
    return None


def read_toml(path: Path) -> dict[str, Any]:
    """Parse one TOML file, turning I/O, encoding and syntax errors into `ScenarioError`.

    A UTF-8 byte-order mark (older Notepad writes one) is accepted; any other encoding, or a
    binary file, is a one-paragraph error naming the file (see `_not_a_text_scenario`).
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file.") from None
    except IsADirectoryError:
        raise ScenarioError(f"{path}: is a folder, not a scenario file.") from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot be read ({exc.strerror}).") from None
    problem = _not_a_text_scenario(path, raw)
    if problem is not None:
        raise ScenarioError(problem)
    try:
        return tomllib.loads(raw.decode("utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}.") from None


def deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Return `base` with `update` merged in; tables merge key by key, values replace."""
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def resolve_extends(path: Path, _chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read `path` and, recursively, the files it extends (relative to itself)."""
    key = path.resolve()
    if key in _chain:
        cycle = " -> ".join(p.name for p in (*_chain, key))
        raise ScenarioError(f"{_chain[0]}: `extends` forms a cycle: {cycle}.")
    data = read_toml(path)
    parent = data.get("extends")
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ScenarioError(f"{path}: key `extends` must be a file name (a string).")
    parent_path = path.parent / parent
    if not parent_path.exists():
        raise ScenarioError(f"{path}: key `extends` names {parent!r}, but {parent_path} does not exist.")
    base = resolve_extends(parent_path, (*_chain, key))
    merged = deep_merge(base, data)
    merged["extends"] = parent
    return merged


def parse_set(texts: Iterable[str]) -> dict[str, Any]:
    """Command-line `--set a.b.c=value` strings as typed overrides (a mapping of dotted keys).

    The value is read as a TOML value (`5200`, `0.3`, `true`, `"mixed"`, `[1, 2]`); a
    bare word is taken as a string. This is the only place a value is parsed from text;
    everything else passes typed values. The same key given twice: the last one wins.
    """
    overrides: dict[str, Any] = {}
    for text in texts:
        if "=" not in text:
            raise ScenarioError(f"--set {text!r}: expected KEY=VALUE, e.g. community.local_resident_share=0.2.")
        key, raw = text.split("=", 1)
        parts = [part.strip() for part in key.strip().split(".")]
        if not all(parts):
            raise ScenarioError(f"--set {text!r}: the key {key!r} has an empty part.")
        try:
            value = tomllib.loads(f"v = {raw.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw.strip()
        overrides[".".join(parts)] = value
    return overrides


def apply_overrides(data: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Raw scenario data with typed overrides (dotted key -> value) merged in; the result is
    validated afterwards with the rest. `data` is not modified."""
    for key, value in overrides.items():
        nested: Any = value
        for part in reversed(key.split(".")):
            nested = {part: nested}
        data = deep_merge(data, nested)
    return data


def describe_overrides(overrides: Mapping[str, Any]) -> str:
    """`key=value ...` as a user would type it, for messages and reports."""
    return " ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in overrides.items())


def community_path(community_id: str) -> Path:
    """The profile file of a named community; a clear error lists the known ones."""
    path = COMMUNITY_DIR / f"{community_id}.toml"
    if not path.exists():
        known = sorted(p.stem for p in COMMUNITY_DIR.glob("*.toml"))
        hint = difflib.get_close_matches(community_id, known, n=1)
        suggestion = f" Did you mean {hint[0]!r}?" if hint else ""
        raise ScenarioError(
            f"--community {community_id!r}: no such community profile.{suggestion} Known: {', '.join(known)}."
        )
    return path


def load_scenario(
    path: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    community: str | None = None,
) -> Scenario:
    """Load and validate a scenario.

    Args:
        path: TOML file; None means the built-in defaults (the baseline).
        overrides: typed values by dotted key (e.g. {"wages.out_of_county": 5200}), applied last.
        community: a profile from `scenarios/communities/` applied on top of the file.
    """
    source = str(path) if path is not None else "<built-in defaults>"
    data: dict[str, Any] = resolve_extends(Path(path)) if path is not None else {}
    if community is not None:
        profile = read_toml(community_path(community))
        profile.pop("extends", None)
        for key in ("name", "description"):
            profile.pop(key, None)
        data = deep_merge(data, profile)
        source += f" with community {community!r}"
    if overrides:
        data = apply_overrides(data, overrides)
        source += " with --set " + describe_overrides(overrides)
    return validate(data, source)


def erased_differences(paths: list[Path], overrides: Mapping[str, Any], community: str | None = None) -> list[str]:
    """What a comparison's common overrides would hide: one message per `--set` key (and
    `--community`) whose values differ between the compared files, so that applying it to
    all of them would make them equal there (e.g. a policy's posts set back to the base's)."""
    from simulation.indicators import flatten

    flat = [flatten(load_scenario(path).model_dump(mode="json")) for path in paths]
    keys = [(key, f"--set {key}") for key in overrides]
    if community is not None:
        keys.append(("community", f"--community {community}"))
    messages = []
    for key, flag in keys:
        values = [{k: v for k, v in f.items() if k == key or k.startswith(key + ".")} for f in flat]
        if all(v == values[0] for v in values[1:]):
            continue
        differing = sorted({k for v in values for k in v if any(w.get(k) != v.get(k) for w in values)})
        shown = "; ".join(
            f"{k}: " + ", ".join(f"{Path(p).name} {json.dumps(v.get(k))}" for p, v in zip(paths, values, strict=True))
            for k in differing[:3]
        )
        messages.append(
            f"{flag} would erase a difference between the compared scenarios ({shown}); drop it, or pass "
            "--allow-erasing if the comparison is meant to have them equal there."
        )
    return messages


def override(scenario: Scenario, overrides: Mapping[str, Any], source: str | None = None) -> Scenario:
    """A validated scenario with typed overrides applied and validated again."""
    if not overrides:
        return scenario
    data = apply_overrides(scenario.model_dump(mode="python"), overrides)
    return validate(data, source or f"{scenario.name} with --set {describe_overrides(overrides)}")


def validate(data: dict[str, Any], source: str) -> Scenario:
    """Validate raw data against the schema; errors name the source and key paths."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(format_errors(exc, source)) from None


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    """Valid field names of the schema table at `loc` (empty if not a table)."""
    model: type[BaseModel] = Scenario
    for part in loc:
        field = model.model_fields.get(str(part))
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def format_errors(exc: ValidationError, source: str) -> str:
    """One readable paragraph per problem: where, what was given, what is allowed."""
    lines = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        key = ".".join(str(part) for part in loc) or "(top level)"
        if error["type"] == "extra_forbidden":
            valid = _fields_at(loc[:-1])
            hint = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.5)
            suggestion = f" Did you mean `{'.'.join([*map(str, loc[:-1]), hint[0]])}`?" if hint else ""
            allowed = f" Valid keys here: {', '.join(valid)}." if valid else ""
            lines.append(f"{source}: unknown key `{key}`.{suggestion}{allowed}")
        else:
            message = error["msg"].removeprefix("Value error, ")
            given = error.get("input")
            shown = "" if isinstance(given, dict) else f" (got {given!r})"
            lines.append(f"{source}: key `{key}`: {message}{shown}.")
    return "\n".join(lines)


def catalogue() -> list[tuple[str, str, str]]:
    """Scenario files and community profiles shipped with the project: (kind, name, description).

    Scenario names are paths relative to the project root, ready for `run.py run`.
    """
    root = SCENARIO_DIR.parent
    entries = []
    for path in sorted(SCENARIO_DIR.rglob("*.toml")):
        data = read_toml(path)
        if path.parent == COMMUNITY_DIR:
            entries.append(("community", path.stem, data.get("description", "")))
        else:
            entries.append(("scenario", str(path.relative_to(root)), data.get("description", "")))
    return entries
