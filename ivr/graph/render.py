"""Run Graphviz `dot` on DOT text."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def render(dot_text: str, target: Path, fmt: str = "svg") -> None:
    if shutil.which("dot") is None:
        raise RuntimeError("Graphviz `dot` is not installed (Debian package graphviz; scripts/setup installs it)")
    target.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["dot", f"-T{fmt}", "-o", str(target)], input=dot_text.encode(), capture_output=True,
                            check=False)
    if result.returncode != 0:
        raise RuntimeError(f"dot failed: {result.stderr.decode(errors='replace').strip()}")
