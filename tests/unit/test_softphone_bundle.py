"""The committed JsSIP bundle (ivr/desktop/static/vendor/jssip.js) is what scripts/build-js makes from
the pinned npm packages (package.json, package-lock.json; installed by scripts/setup's `npm ci`), so
nobody can change the browser's SIP library by hand, and a version bump without a rebuild fails."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUNDLE = REPO / "ivr" / "desktop" / "static" / "vendor" / "jssip.js"


def test_the_committed_bundle_is_the_build_of_the_pinned_jssip(tmp_path: Path) -> None:
    out = tmp_path / "jssip.js"
    done = subprocess.run([str(REPO / "scripts" / "build-js"), str(out)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert out.read_bytes() == BUNDLE.read_bytes(), "run scripts/build-js and commit the bundle"
    pinned = json.loads((REPO / "package.json").read_text())["devDependencies"]["jssip"]
    assert BUNDLE.read_text().startswith(f"/* JsSIP {pinned} ")
