"""The cluster of docs/cluster.md on this machine (run by scripts/cluster-demo): start it, place calls
through Kamailio, kill a daemon and an Asterisk node, bring them back, print what the callers got."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))

from harness.cluster import ClusterRun
from harness.cluster_drill import drill


def _stop_on_term(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # runs the `finally` below: everything started is stopped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", type=Path, help="folder for logs and generated config (default: a new one in /tmp)")
    parser.add_argument("--rate", type=float, default=2.0, help="new calls per second (default 2)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _stop_on_term)
    work = args.work or Path(tempfile.mkdtemp(prefix="ivr-cluster-demo."))
    print(f"cluster-demo: logs and generated config in {work}")
    run = ClusterRun(work)
    try:
        run.start()
        figures = drill(run, work, rate=args.rate)
    finally:
        print("cluster-demo: stopping both Kamailio edges and keepalived, the daemons, the Asterisk nodes; "
              "deleting the namespaces")
        run.stop()
    print(json.dumps(figures.as_dict(), indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures.as_dict(), indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
