"""bench/run's section 6 ("using both cores"): the load generator's calls alternate between the daemons'
ports, the ratios and the item-3 verdict read two daemons against one, and the tables print. The
measurement itself needs the sandbox and PostgreSQL (`bench/run --only workers`)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bench import workers_section
from bench.asterisk_section import ceiling
from bench.loadgen import LoadGenerator, Spec
from bench.suite import main, print_workers


def _burst(daemons: int, store: str, calls_per_s: float, cpu: float, *, shares: list[float] | None = None,
           failed: int = 0) -> dict[str, Any]:
    percentiles = {"p50": 1.0, "p99": 5.0, "p999": 9.0, "max": 12.0}
    return {"daemons": daemons, "store": store, "n": 500, "ok": 3000 - failed, "failed": failed, "failures": {},
            "failure_examples": [], "calls_per_s": calls_per_s, "think_ms": percentiles, "e2e_ms": percentiles,
            "cpu_ms_per_call": cpu, "daemon_pct_of_core": shares or [90.0] * daemons, "store_ms_per_call": 0.4,
            "loadgen_pct_of_core": 45.0, "machine_busy_pct": 97.0}


def _step(route: str, rate: float, ok: int, calls: int) -> dict[str, Any]:
    return {"route": route, "rate": rate, "calls": calls, "ok": ok, "not_queued": calls - ok, "wrong_queue": 0,
            "daemon_ms_per_call": 6.0, "asterisk_ms_per_call": 12.0, "store_ms_per_call": 1.0,
            "daemon_cpu_pct_of_core": 20.0, "asterisk_cpu_pct_of_core": 50.0, "machine_busy_pct": 80.0}


def _result(menus_two: list[int], *, two_fails_at_first: bool = False, burst_shares: list[float] | None = None,
            ) -> dict[str, Any]:
    rows = [_step("1 daemon", 10, 60, 60), _step("1 daemon", 20, 120, 120), _step("1 daemon", 40, 230, 240)]
    rows += [_step("2 daemons", 10, 59 if two_fails_at_first else 60, 60)]
    if not two_fails_at_first:
        rows += [_step("2 daemons", 20, 120, 120), _step("2 daemons", 40, 240, 240), _step("2 daemons", 80, 400, 480)]
    for route in ("1 daemon", "2 daemons"):
        mine = [r for r in rows if r["route"] == route]
        mine[-1]["stopped"] = "failed"
    asterisk = {"instance": 9, "rows": rows, "menus_per_daemon": {"1 daemon": [410], "2 daemons": menus_two},
                "ceiling": {route: ceiling(rows, route) for route in ("1 daemon", "2 daemons")}}
    burst = [_burst(1, "SQLite", 400, 2.5), _burst(1, "PostgreSQL", 350, 2.8),
             _burst(2, "PostgreSQL", 420, 3.1, shares=burst_shares)]
    return {"burst": burst, "asterisk": asterisk, "ratios": workers_section.ratios(burst, asterisk)}


def test_ratios_compare_two_daemons_with_one_on_the_same_store() -> None:
    ratios = {r["what"]: r["value"] for r in _result([200, 210])["ratios"]}
    assert ratios["FastAGI burst calls/s, 2 daemons / 1 (PostgreSQL)"] == 1.2  # 420 / 350, not / SQLite's 400
    assert ratios["FastAGI burst CPU per call, 2 daemons / 1 (PostgreSQL)"] == pytest.approx(3.1 / 2.8, abs=1e-3)
    assert ratios["real Asterisk, max calls/s with zero failures, 2 daemons / 1"] == 2.0  # 40 against 20


def test_the_verdict_needs_both_daemons_to_take_calls_and_no_failure() -> None:
    met = {v["target"]: v["met"] for v in workers_section.targets(_result([200, 210]))}
    assert len(met) == 2 and all(met.values())
    idle_second = workers_section.targets(_result([410, 0]))
    assert [v["met"] for v in idle_second] == [True, False]
    assert "410 / 0" in idle_second[1]["value"]
    failing = workers_section.targets(_result([30, 29], two_fails_at_first=True, burst_shares=[95.0, 0.0]))
    assert [v["met"] for v in failing] == [False, False]
    assert failing[1]["value"].startswith("no calls/s")


def test_both_tables_print_with_each_daemons_share(capsys: pytest.CaptureFixture[str]) -> None:
    print_workers(_result([200, 210]))
    out = capsys.readouterr().out
    assert "### 6. Using both cores: FastAGI burst" in out and "### 6. Using both cores: real Asterisk" in out
    assert "| 2       | PostgreSQL | 500 |" in out and "90 / 90" in out
    assert "- 2 daemons: ceiling 40 calls/s with zero failures (failed at 80 calls/s); menus finished per daemon: " \
           "200 / 210" in out


def test_check_reads_the_workers_verdict(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    results = {"good": _result([200, 210]), "bad": _result([410, 0])}
    chosen = iter(["good", "bad"])
    monkeypatch.setattr("bench.workers_section.run", lambda plan, config, work, progress: results[next(chosen)])
    assert main(["--only", "workers", "--check", "--work", str(tmp_path / "w")]) == 0
    assert main(["--only", "workers", "--check", "--work", str(tmp_path / "w")]) == 1


def test_the_load_generator_sends_the_calls_to_each_port_in_turn() -> None:
    async def scenario() -> list[int]:
        counts = [0, 0]

        def server(index: int) -> Any:
            async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                counts[index] += 1
                writer.close()  # no AGI: the call fails, only where it went matters here
            return answer

        servers = [await asyncio.start_server(server(i), "127.0.0.1", 0) for i in range(2)]
        ports = [s.sockets[0].getsockname()[1] for s in servers]
        spec = Spec(ports=ports, concurrency=3, calls=12, walks=[{"name": "w", "keys": ["1"], "queue": "q"}])
        result = await LoadGenerator(spec).run()
        for s in servers:
            s.close()
            await s.wait_closed()
        assert result["calls_failed"] == 12
        return counts

    assert asyncio.run(scenario()) == [6, 6]
