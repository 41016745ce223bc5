"""`python -m gailctl` is the `gailctl` command."""

from gailctl.cli import main

main()
