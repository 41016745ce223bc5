"""MkDocs hooks (mkdocs.yml `hooks:`): pages rendered from the code at build time.

`<!-- config-reference -->` in a page becomes the config reference generated from the pydantic
models (`gailctl.core.config_reference`), so it cannot drift from the schema. The CLI reference
comes from the Click app through mkdocs-click (`docs/reference/cli.md`).
"""

from __future__ import annotations

from typing import Any

MARKER = "<!-- config-reference -->"


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if MARKER not in markdown:
        return markdown
    from gailctl.core.config_reference import markdown as reference

    return markdown.replace(MARKER, reference(heading="##"))
