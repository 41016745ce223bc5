"""The troubleshooting page is the catalogue's, and every catalogue entry says what it rests on."""

from __future__ import annotations

from pathlib import Path

from gailctl.doctor.catalogue import CATALOGUE
from gailctl.doctor.catalogue_md import render
from gailctl.doctor.finding import SEVERITIES

ROOT = Path(__file__).resolve().parents[2]


def test_committed_troubleshooting_page_matches_the_catalogue():
    page = (ROOT / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
    assert page == render(), "regenerate it: python -m gailctl.doctor.catalogue_md > docs/troubleshooting.md"


def test_every_check_is_named_once_and_documented():
    names = [c.name for c in CATALOGUE]
    assert len(names) == len(set(names))
    for check in CATALOGUE:
        assert check.severity in SEVERITIES
        assert check.signature and check.fix and check.evidence and check.title
