"""Every module of kruimel/ is placed in a layer of the import contract (pyproject.toml).

`make lint` runs lint-imports, which only checks the modules the contract names: a new module
left out of it would escape the check. This test keeps the contract complete."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_kruimel_module_is_in_a_layer() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    [contract] = config["tool"]["importlinter"]["contracts"]
    placed = {name for layer in contract["layers"] for name in re.split(r"\s*[:|]\s*", layer)}
    assert {"consent", "analytics"} <= placed
    modules = {
        f"kruimel.{path.stem}" if path.is_file() else f"kruimel.{path.name}"
        for path in (ROOT / "kruimel").iterdir()
        if (path.suffix == ".py" and path.stem != "__init__")
        or (path.is_dir() and (path / "__init__.py").exists())
    }
    assert modules - placed == set(), "place these in a layer of [tool.importlinter]"


def test_the_floor_is_one_folder() -> None:
    """The layout shows the layers: the floor is kruimel/base/, the roof the rest of kruimel/."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    [contract] = config["tool"]["importlinter"]["contracts"]
    assert contract["layers"][-1] == "kruimel.base"
    roof = set(re.split(r"\s*:\s*", contract["layers"][0]))
    assert not any(name.startswith("kruimel.base") for name in roof)
