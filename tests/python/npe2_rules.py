"""A structural check of a napari.yaml against npe2's schema rules (npe2 is not installable here).

Transcribed from npe2 (src/npe2/manifest/schema.py, _validators.py, contributions/*.py): the allowed keys of each
contribution (npe2 models forbid extra fields), the required ones, the id / python_name / display_name patterns,
the command-id prefix rule, references between contributions and commands, writer layer-type expressions and
filename extensions. Returns a list of problems (empty when valid).
"""

from __future__ import annotations

import re

_package_name = "([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])"
_python_identifier = "([a-zA-Z_][a-zA-Z_0-9]*)"
_identifier_plus_dash = "(?:[a-zA-Z_][a-zA-Z_0-9-]+)"
_dotted_name = f"(?:(?:{_identifier_plus_dash}\\.)*{_identifier_plus_dash})"
PACKAGE_NAME_PATTERN = re.compile(f"^{_package_name}$", re.IGNORECASE)
DISPLAY_NAME_PATTERN = re.compile(r"^[^\W_][\w -~:.'\"]{1,88}[^\W_]$")
PYTHON_NAME_PATTERN = re.compile(f"^({_dotted_name}):({_dotted_name})$")
COMMAND_ID_PATTERN = re.compile(f"^(({_package_name}\\.)*{_python_identifier})$", re.IGNORECASE)

# Categories accepted by both npe2 0.7 (napari 0.4.19's era) and current npe2.
CATEGORIES = {"Acquisition", "Annotation", "Dataset", "Image Processing", "IO", "Measurement", "Segmentation",
              "Simulation", "Themes", "Transformations", "Utilities"}
LAYER_TYPES = {"graph", "image", "labels", "points", "shapes", "surface", "tracks", "vectors"}

TOP_KEYS = {"name", "display_name", "visibility", "icon", "categories", "schema_version", "on_activate",
            "on_deactivate", "contributions", "package_metadata", "npe1_shim"}
CONTRIBUTION_KEYS = {"commands", "readers", "writers", "widgets", "sample_data", "themes", "menus", "submenus",
                     "keybindings", "configuration", "configurations"}
ALLOWED = {
    "commands": ({"id", "title"}, {"id", "title", "python_name", "short_title", "category", "icon", "enablement"}),
    "readers": ({"command", "filename_patterns"}, {"command", "filename_patterns", "accepts_directories"}),
    "writers": ({"command", "layer_types"}, {"command", "layer_types", "filename_extensions", "display_name"}),
    "widgets": ({"command", "display_name"}, {"command", "display_name", "autogenerate"}),
}
SAMPLE_GENERATOR = ({"command", "key", "display_name"}, {"command", "key", "display_name"})
SAMPLE_URI = ({"uri", "key", "display_name"}, {"uri", "key", "display_name", "reader_plugin"})
MENU_COMMAND = ({"command"}, {"command", "alt", "when", "group"})
MENU_SUBMENU = ({"submenu"}, {"submenu", "when", "group"})


def parse_layer_type(expr: str) -> tuple[str, tuple[int, int]]:
    """npe2's LayerTypeConstraint.from_str: '<type>[?|+|*|{k}|{m,n}]' -> (type, (min, max_exclusive))."""
    big = 1 << 32
    if expr.endswith("?"):
        bounds, lt = (0, 2), expr[:-1]
    elif expr.endswith("+"):
        bounds, lt = (1, big), expr[:-1]
    elif expr.endswith("*"):
        bounds, lt = (0, big), expr[:-1]
    elif expr.endswith("}"):
        rest, _, rng = expr[:-1].rpartition("{")
        if "," in rng:
            m, n = rng.split(",")
            bounds, lt = (int(m), int(n) + 1), rest
        else:
            bounds, lt = (int(rng), int(rng) + 1), rest
    else:
        bounds, lt = (1, 2), expr
    if lt not in LAYER_TYPES:
        raise ValueError(f"unknown layer type {lt!r}")
    if bounds[0] < 0 or bounds[1] <= bounds[0]:
        raise ValueError(f"bad bounds in {expr!r}")
    return lt, bounds


def _keys(where: str, item, required: set, allowed: set, problems: list) -> None:
    if not isinstance(item, dict):
        problems.append(f"{where}: expected a mapping, got {type(item).__name__}")
        return
    missing = required - set(item)
    extra = set(item) - allowed
    if missing:
        problems.append(f"{where}: missing {sorted(missing)}")
    if extra:
        problems.append(f"{where}: fields not allowed by npe2 {sorted(extra)}")


def validate(manifest: dict) -> list[str]:
    problems: list[str] = []
    extra = set(manifest) - TOP_KEYS
    if extra:
        problems.append(f"top level: unknown fields {sorted(extra)}")
    name = manifest.get("name", "")
    if not isinstance(name, str) or not PACKAGE_NAME_PATTERN.match(name):
        problems.append(f"name {name!r} is not a valid package name")
    display = manifest.get("display_name", name)
    if not (3 <= len(display) <= 90) or not DISPLAY_NAME_PATTERN.match(display):
        problems.append(f"display_name {display!r} is invalid")
    if manifest.get("visibility", "public") not in ("public", "hidden"):
        problems.append("visibility must be public or hidden")
    for cat in manifest.get("categories", []):
        if cat not in CATEGORIES:
            problems.append(f"unknown category {cat!r}")
    for key in ("on_activate", "on_deactivate"):
        if manifest.get(key) and not PYTHON_NAME_PATTERN.match(manifest[key]):
            problems.append(f"{key} is not a python_name")

    contributions = manifest.get("contributions") or {}
    extra = set(contributions) - CONTRIBUTION_KEYS
    if extra:
        problems.append(f"contributions: unknown sections {sorted(extra)}")

    commands = contributions.get("commands") or []
    ids = []
    for i, cmd in enumerate(commands):
        _keys(f"commands[{i}]", cmd, *ALLOWED["commands"], problems)
        cid = cmd.get("id", "")
        ids.append(cid)
        if not COMMAND_ID_PATTERN.match(cid):
            problems.append(f"command id {cid!r} is invalid")
        if not cid.startswith(f"{name}."):
            problems.append(f"command id {cid!r} must start with '{name}.'")
        if cmd.get("python_name") and not PYTHON_NAME_PATTERN.match(cmd["python_name"]):
            problems.append(f"python_name {cmd['python_name']!r} is invalid")
        if not isinstance(cmd.get("title", ""), str):
            problems.append(f"command {cid!r}: title must be a string")
    if len(set(ids)) != len(ids):
        problems.append("duplicate command ids")
    known = set(ids)

    def ref(where: str, cid) -> None:
        if cid not in known:
            problems.append(f"{where} references undeclared command {cid!r}")

    for section in ("readers", "writers", "widgets"):
        for i, item in enumerate(contributions.get(section) or []):
            _keys(f"{section}[{i}]", item, *ALLOWED[section], problems)
            ref(f"{section}[{i}]", item.get("command"))
    for i, reader in enumerate(contributions.get("readers") or []):
        pats = reader.get("filename_patterns")
        if not isinstance(pats, list) or not all(isinstance(p, str) for p in pats):
            problems.append(f"readers[{i}].filename_patterns must be a list of strings")
        if not isinstance(reader.get("accepts_directories", False), bool):
            problems.append(f"readers[{i}].accepts_directories must be a bool")
    for i, writer in enumerate(contributions.get("writers") or []):
        seen = []
        for expr in writer.get("layer_types") or []:
            try:
                seen.append(parse_layer_type(expr)[0])
            except (ValueError, TypeError) as exc:
                problems.append(f"writers[{i}].layer_types: {exc}")
        if len(set(seen)) != len(seen):
            problems.append(f"writers[{i}]: duplicate layer type")
        for ext in writer.get("filename_extensions") or []:
            coerced = "." + ext.lstrip("*.")
            if len(coerced) < 2:
                problems.append(f"writers[{i}]: bad extension {ext!r}")
    for i, widget in enumerate(contributions.get("widgets") or []):
        if not isinstance(widget.get("autogenerate", False), bool):
            problems.append(f"widgets[{i}].autogenerate must be a bool")
    keys = []
    for i, sample in enumerate(contributions.get("sample_data") or []):
        spec = SAMPLE_URI if "uri" in sample else SAMPLE_GENERATOR
        _keys(f"sample_data[{i}]", sample, *spec, problems)
        if "command" in sample:
            ref(f"sample_data[{i}]", sample["command"])
        keys.append(sample.get("key"))
    if len(set(keys)) != len(keys):
        problems.append("duplicate sample_data keys")
    submenus = {s.get("id") for s in contributions.get("submenus") or []}
    menus = contributions.get("menus") or {}
    if not isinstance(menus, dict):
        problems.append("menus must be a mapping of menu id -> items")
        menus = {}
    for menu_id, items in menus.items():
        if not isinstance(items, list):
            problems.append(f"menus[{menu_id!r}] must be a list")
            continue
        for j, item in enumerate(items):
            if isinstance(item, dict) and "submenu" in item:
                _keys(f"menus[{menu_id!r}][{j}]", item, *MENU_SUBMENU, problems)
                if item["submenu"] not in submenus:
                    problems.append(f"menus[{menu_id!r}][{j}] references undeclared submenu")
            else:
                _keys(f"menus[{menu_id!r}][{j}]", item, *MENU_COMMAND, problems)
                ref(f"menus[{menu_id!r}][{j}]", item.get("command") if isinstance(item, dict) else None)
    return problems
