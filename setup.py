"""Build step that puts the shipped configs and experts inside the wheel.

They stay in the repository's top-level `configs/` and `experts/` (where the README and the
experts' provenance point); a wheel carries copies under `gailctl/_shipped/`, which
`gailctl.shipped` looks for first. An editable install (`pip install -e .`) copies nothing:
the package then reads the top-level folders of the checkout itself.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED = ("configs", "experts")
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


class BuildWithShipped(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        here = Path(__file__).resolve().parent
        target = Path(self.build_lib) / "gailctl" / "_shipped"
        for name in SHIPPED:
            if (target / name).exists():
                shutil.rmtree(target / name)
            shutil.copytree(here / name, target / name, ignore=SKIP)


setup(cmdclass={"build_py": BuildWithShipped})
