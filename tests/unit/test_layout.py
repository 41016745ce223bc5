"""The package layout: imports run one way (cli -> experiments -> stages -> {rl, doctor -> report} -> core),
and `gailctl --help` imports none of the heavy libraries.

What is checked is what gets imported, read from the source (every `import`, also those inside
functions) and from `sys.modules` of a fresh interpreter; no timings.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "gailctl"

MAY_IMPORT = {
    "core": {"core"},
    "rl": {"core", "rl"},
    "report": {"core", "report"},
    "doctor": {"core", "report", "doctor"},
    "stages": {"core", "rl", "report", "doctor", "stages"},  # the registry (stages/__init__) imports each stage; a stage none
    "experiments": {"core", "rl", "report", "stages", "experiments"},
    "cli": {"core", "rl", "report", "doctor", "stages", "experiments", "cli"},
}
"""The gailctl sub-packages each part may import (a stage never imports another stage)."""

HEAVY = ("torch", "stable_baselines3", "imitation", "gymnasium", "ray", "optuna", "pydantic", "yaml", "numpy",
         "matplotlib", "rich")


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found.append((".".join(parts[:-1] if parts[-1] == "__init__" else parts), path))
    return found


def _gailctl_imports(path: Path) -> set[str]:
    """Every gailctl module or package `path` imports, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.split(".")[0] == "gailctl")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "gailctl":
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def _part(module: str) -> str:
    """`gailctl.rl.env.make` -> `rl`; the top-level modules (`gailctl.__main__`) are the command line."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and (PACKAGE / parts[1]).is_dir()) else "cli"


def test_every_module_is_in_a_part_of_the_layout():
    assert {_part(m) for m, _ in _modules()} <= set(MAY_IMPORT)


@pytest.mark.parametrize("module, path", _modules(), ids=[m for m, _ in _modules()])
def test_imports_run_one_way(module: str, path: Path):
    part = _part(module)
    wrong = sorted(name for name in _gailctl_imports(path) if _part(name) not in MAY_IMPORT[part])
    assert not wrong, f"{module} ({part}) imports {wrong}; {part} may import only {sorted(MAY_IMPORT[part])}"


@pytest.mark.parametrize("module, path", [(m, p) for m, p in _modules() if m.startswith("gailctl.stages.")],
                         ids=[m for m, _ in _modules() if m.startswith("gailctl.stages.")])
def test_stages_do_not_import_each_other(module: str, path: Path):
    sideways = sorted(n for n in _gailctl_imports(path) if n == "gailctl.stages" or n.startswith("gailctl.stages."))
    assert not sideways, f"{module} imports {sideways}: move what stages share down into gailctl.rl or gailctl.core"


def test_nothing_imports_the_command_line():
    users = sorted(m for m, p in _modules() if _part(m) != "cli" and any(_part(n) == "cli" for n in _gailctl_imports(p)))
    assert not users


@pytest.mark.parametrize("argv", [["--help"], ["-h"], ["gail", "--help"], ["tune", "--help"], ["configs", "--help"]])
def test_help_imports_no_heavy_library(argv: list[str]):
    """`gailctl --help` answers from typer alone: no torch, pydantic, yaml, numpy, rich, ...

    A command's own help also loads pydantic, through typer itself: typer coerces a command's
    parameters with pydantic TypeAdapters as soon as it builds them. Nothing else heavy.
    """
    heavy = HEAVY if len(argv) == 1 else tuple(m for m in HEAVY if m != "pydantic")
    code = (
        "import sys\n"
        "from gailctl.cli import main\n"
        f"sys.argv = ['gailctl', *{argv!r}]\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert exc.code in (0, None), exc.code\n"
        f"print('LOADED', sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=PACKAGE.parent, check=True)
    assert "Usage:" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "LOADED []"


PRIVATE_API_HOMES = ("gailctl/rl/compat.py", "gailctl/rl/gail/")
"""Where gailctl may touch a private attribute of stable-baselines3's or imitation's objects."""
OTHER_LIBRARIES_PRIVATE = {"multiarray._reconstruct"}
"""numpy's array rebuilder, which the restricted unpickler admits by name (`rl/env/vecnorm_stats.py`)."""


def test_private_attributes_of_other_objects_are_touched_only_in_the_compat_module_and_the_gail_package():
    found = []
    for module, path in _modules():
        rel = path.relative_to(PACKAGE.parent).as_posix()
        if rel.startswith(PRIVATE_API_HOMES):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        ours = {"self", "cls"} | {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                                  and (n.module or "").startswith("gailctl") for a in n.names}  # gailctl's own modules
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")):
                continue
            if isinstance(node.value, ast.Name) and node.value.id in ours:
                continue
            if ast.unparse(node) not in OTHER_LIBRARIES_PRIVATE:
                found.append(f"{rel}:{node.lineno}: {ast.unparse(node)}")
    assert not found, "move these into gailctl/rl/compat.py (with the reason) or gailctl/rl/gail/:\n" + "\n".join(found)
