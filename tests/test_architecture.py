"""Dependencies point inward, as ARCHITECTURE.md draws them: app -> features -> services -> core.

Each top-level module or folder of `bot/` is a unit; a unit may import the units of the
layers below its own, and within its layer only what `SIDEWAYS` allows. A feature never
imports another feature; nothing below the app layer imports the app layer.
"""

from __future__ import annotations

import ast
import tomllib
from fnmatch import fnmatch
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"

LAYERS: list[set[str]] = [
    {
        "errors",
        "timefmt",
        "query",
        "metrics",
        "schedule",
        "config",
        "db",
        "recent",
        "offloop",
        "jsonscan",
        "directory",
    },
    {
        "render",
        "slack",
        "sources",
        "snapshots",
        "inbound",
        "names",
        "history",
        "slackconfig",
    },  # services the features share
    {"commands", "digests", "alerts", "surveys"},  # features
    {
        "listeners",
        "app",
        "web",
        "worker",
        "check",
        "demo",
        "home",
        "__main__",
        "__init__",
    },  # wiring, entry points
]
SIDEWAYS = {  # imports within one layer, each a deliberate exception
    "config": {"errors", "query", "schedule", "timefmt"},  # typed settings read with them
    "slack": {"render"},  # it posts the Message a renderer made
    "db": {"errors"},  # a database that cannot be used is a StoreError
    "history": {"sources"},  # it collects from, and answers for, the LivePerson source
}
APP = LAYERS[-1]


def layer(unit: str) -> int:
    return next(i for i, units in enumerate(LAYERS) if unit in units)


def unit_of(module: str) -> str:
    """`bot.surveys.items` -> `surveys`, `bot.config` -> `config`, `bot` -> `__init__`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports() -> list[tuple[str, str, str]]:
    """(file, importing unit, imported unit) for every import of bot's own modules."""
    found = []
    for path in sorted(BOT.rglob("*.py")):
        module = ".".join(path.relative_to(BOT.parent).with_suffix("").parts)
        source = unit_of(module.removesuffix(".__init__"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module == "bot":
                    targets = [f"bot.{alias.name}" for alias in node.names]
                elif node.module.startswith("bot."):
                    targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("bot.")]
            for target in targets:
                imported = unit_of(target)
                if imported != source and imported != "__version__":
                    found.append((str(path.relative_to(BOT.parent)), source, imported))
    return found


def test_every_unit_of_bot_has_a_layer() -> None:
    modules = {p.stem for p in BOT.glob("*.py")}
    folders = {p.name for p in BOT.iterdir() if (p / "__init__.py").is_file()}
    assert modules | folders == set().union(*LAYERS)


def violations(found: list[tuple[str, str, str]]) -> list[str]:
    return [
        f"{where}: {source} (layer {layer(source)}) imports {imported} (layer {layer(imported)})"
        for where, source, imported in found
        if source not in APP
        and layer(imported) >= layer(source)
        and imported not in SIDEWAYS.get(source, set())
    ]


def test_imports_point_inward() -> None:
    found = imports()
    assert len(found) > 50  # the walk sees the package
    assert violations(found) == [], "see ARCHITECTURE.md: which folder may import which"


def test_a_wrong_import_is_found() -> None:
    edges = [
        ("bot/render/x.py", "render", "digests"),  # a service importing a feature
        ("bot/digests/x.py", "digests", "alerts"),  # a feature importing another
        ("bot/config.py", "config", "db"),  # core sideways, not allowed
        ("bot/slack.py", "slack", "render"),  # sideways, allowed
        ("bot/app.py", "app", "surveys"),  # wiring may import anything
        ("bot/alerts/x.py", "alerts", "snapshots"),  # inward
    ]
    assert [line.split(":")[0] for line in violations(edges)] == [
        "bot/render/x.py", "bot/digests/x.py", "bot/config.py"
    ]  # fmt: skip


def test_the_wheel_carries_every_package_and_template() -> None:
    """pyproject.toml lists packages by hand (templates/ installs as bot.templates)."""
    config = tomllib.loads((BOT.parent / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = config["tool"]["setuptools"]
    found = {".".join(p.parent.relative_to(BOT.parent).parts) for p in BOT.rglob("__init__.py")}
    assert set(setuptools["packages"]) == found | {"bot.templates"}
    patterns = setuptools["package-data"]["bot.templates"]
    templates = [p.name for p in (BOT.parent / "templates").iterdir()]
    assert all(any(fnmatch(name, pattern) for pattern in patterns) for name in templates)
