"""The documentation site builds strictly, and its references hold every CLI option and config key.

The CLI reference is rendered from the Click app (mkdocs-click) and the config reference from the
schema (a build hook), so they cannot drift; this checks the built pages, as a reader sees them.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs", reason="the documentation site needs the [docs] extra")
pytest.importorskip("mkdocs_click", reason="the documentation site needs the [docs] extra")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def page_text(site: Path, page: str) -> str:
    raw = (site / page / "index.html").read_text(encoding="utf-8")
    article = raw[raw.index("<article"):raw.index("</article>")]
    return html.unescape(re.sub(r"<[^>]+>", "", article))


def click_options(command, path=()):  # noqa: ANN001, ANN201 - a Click command and its subcommands
    for param in command.params:
        yield path, [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])], param.param_type_name
    for name, sub in getattr(command, "commands", {}).items():
        yield from click_options(sub, (*path, name))


def test_cli_reference_lists_every_command_and_option(site: Path) -> None:
    from gailctl.cli.click_app import command

    text = page_text(site, "reference/cli")
    sections = re.split(r"(?m)^gailctl(?: [\w ]+)?¶", text)
    assert len(sections) > len(command.commands)
    for path, opts, kind in click_options(command):
        heading = " ".join(("gailctl", *path))
        assert f"{heading}¶" in text, heading
        own = text.split(f"{heading}¶", 1)[1]
        for opt in opts:
            if kind == "option":
                assert re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", own), f"{heading}: {opt}"


def test_config_reference_lists_every_key_with_its_default(site: Path) -> None:
    from gailctl.core.config_reference import config_keys

    raw = (site / "reference" / "config" / "index.html").read_text(encoding="utf-8")
    rows = {}
    for tr in re.findall(r"<tr>(.*?)</tr>", raw, re.DOTALL):
        cells = [" ".join(html.unescape(re.sub(r"<[^>]+>", "", c)).split()) for c in re.findall(r"<td>(.*?)</td>", tr, re.DOTALL)]
        if cells:
            rows[cells[0]] = cells
    for key in config_keys():
        assert key.key in rows, key.key
        _, kind, default, what = rows[key.key]
        assert default == key.default and kind.startswith(key.type.replace("`", "")), (key.key, rows[key.key])
        assert what == key.description.replace("`", ""), key.key


def test_results_pages_show_their_tables_and_figures(site: Path) -> None:
    text = page_text(site, "results/mujoco")
    assert "GAIL, argmax" in text and "seals/Walker2d-v1" in text
    assert (site / "results" / "mujoco.png").is_file() and (site / "benchmarks" / "mujoco" / "results.csv").is_file()
