"""Reporting: reading run folders, and the tables and plots every command that reports shares.

`tables` (markdown, CSV, rich) and `plots` (curves, bands, reference lines) are the one writer
and the one plotter; `run_info`, `grouping`, `curves`, `compare` and `run_tables` serve
`gailctl runs`, `plot` and `compare`; `run_scores` reads a run's final score; `bench_report`
computes the benchmark's figures. Imports `core` only.
"""
