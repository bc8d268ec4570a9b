"""`ivr graph`: the SVG has every node and every arrow of the plan, and marks what is wrong."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from ivr.cli import main
from ivr.graph import load_picture, plan_to_dot
from ivr.validate import load_config

Break = Callable[[str, str, str], Path]
SVG = "{http://www.w3.org/2000/svg}"
PLAN = "dialplans/mini.yaml"
MINI_EDGES = {
    ("welcome", "office_hours", "next"),
    ("office_hours", "menu", "open"),
    ("office_hours", "closed_message", "closed"),
    ("menu", "queue_general", "1"),
    ("menu", "transfer_out", "2"),
    ("menu", "queue_general", "fallback"),
}


def svg_groups(svg: Path, cls: str) -> dict[str, ET.Element]:
    """`<g class="node ...">` or `<g class="edge">` elements by their `<title>` (Graphviz writes a->b)."""
    root = ET.parse(svg).getroot()
    found = {}
    for group in root.iter(f"{SVG}g"):
        if cls in (group.get("class") or "").split():
            title = group.find(f"{SVG}title")
            assert title is not None and title.text
            found[title.text] = group
    return found


def edge_labels(svg: Path) -> set[tuple[str, str, str]]:
    """(source, target, label) of every arrow; two arrows may join the same nodes (key 1 and fallback)."""
    labels = set()
    for group in ET.parse(svg).getroot().iter(f"{SVG}g"):
        title = group.find(f"{SVG}title")
        if group.get("class") == "edge" and title is not None and title.text:
            source, target = title.text.split("->")
            labels |= {(source, target, t.text) for t in group.iter(f"{SVG}text") if t.text}
    return labels


def draw(*args: str) -> int:
    return main(["graph", *args])


def test_every_node_and_edge_of_a_valid_plan(config_tree: Path) -> None:
    plan = load_config(["."]).plans["mini"]
    assert draw(PLAN, "-o", "out/mini.svg", "--png", "out/mini.png") == 0
    nodes = svg_groups(config_tree / "out/mini.svg", "node")
    assert set(plan.nodes) <= set(nodes)
    edges = svg_groups(config_tree / "out/mini.svg", "edge")
    expected = {f"{node_id}->{ref.target}" for node_id, node in plan.nodes.items() for ref in node.refs()
                if ref.kind == "node"}
    assert expected <= set(edges)
    assert edge_labels(config_tree / "out/mini.svg") >= MINI_EDGES
    assert not any("unreachable" in (g.get("class") or "") for g in nodes.values())
    assert (config_tree / "out/mini.png").read_bytes().startswith(b"\x89PNG")


def test_shipped_plan_shows_keys_queues_and_hours(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(repo)
    out = tmp_path / "main.svg"
    assert draw("dialplans/main.yaml", "-o", str(out)) == 0
    labels = edge_labels(out)
    assert {("main_menu", "tag_school", "1"), ("main_menu", "main_menu", "9"), ("social_menu", "main_menu", "0"),
            ("opening_hours", "holiday_message", "holiday"), ("building_case", "tag_building", "fallback")} <= labels
    text = " ".join(t.text or "" for t in ET.parse(out).getroot().iter(f"{SVG}text"))
    assert "queue kc-streets" in text
    assert "mon-fri 07:00-18:00" in text
    assert "1=sv, 2=en, 3=ar" in text


def test_unreachable_node_is_drawn_and_marked(config_tree: Path, break_file: Break) -> None:
    break_file(PLAN, "  closed_message:\n", "  orphan:\n    kind: play\n    prompt: welcome\n"
               "    next: queue_general\n  closed_message:\n")
    assert draw(PLAN, "-o", "g.svg") == 0  # load_config refuses this plan; the picture is still drawn
    nodes = svg_groups(config_tree / "g.svg", "node")
    orphan = nodes["orphan"]
    assert "unreachable" in (orphan.get("class") or "").split()
    outline = next(orphan.iter(f"{SVG}polygon"), None)
    assert outline is not None
    assert outline.get("stroke") == "#c00000"
    assert outline.get("stroke-dasharray")
    assert "orphan->queue_general" in svg_groups(config_tree / "g.svg", "edge")
    assert "unreachable" not in (nodes["welcome"].get("class") or "")


def test_broken_node_and_dangling_reference_are_drawn(config_tree: Path, break_file: Break,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    break_file(PLAN, "      \"2\": transfer_out\n", "      \"2\": transfer_out\n      \"3\": nowhere\n")
    break_file(PLAN, "    kind: transfer\n", "    kind: transfr\n")
    assert draw(PLAN, "-o", "g.svg") == 0
    assert "unknown kind 'transfr'" in capsys.readouterr().err
    nodes = svg_groups(config_tree / "g.svg", "node")
    assert {"problem", "node-transfr"} <= set((nodes["transfer_out"].get("class") or "").split())
    assert "missing" in (nodes["nowhere"].get("class") or "").split()
    assert "menu->nowhere" in svg_groups(config_tree / "g.svg", "edge")


def test_checker_problems_are_attached_to_their_node(config_tree: Path, break_file: Break) -> None:
    break_file(PLAN, "    group: general\n", "    group: generl\n")
    picture = load_picture(config_tree / PLAN)
    assert [p.message for p in picture.problems["queue_general"]] == [
        "node 'queue_general': unknown agent group 'generl'"]
    dot = plan_to_dot(picture)
    assert 'class="node-queue problem"' in dot
    assert "group generl (unknown)" in dot


def test_a_file_that_is_not_yaml_is_refused(config_tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (config_tree / PLAN).write_text("nodes: [unclosed\n", encoding="utf-8")
    assert draw(PLAN, "-o", "g.svg") == 1
    assert "YAML syntax error" in capsys.readouterr().err
    assert not (config_tree / "g.svg").exists()


def test_committed_picture_is_of_the_shipped_plan() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs"
    titles = {t.text for t in ET.parse(docs / "main-menu.svg").getroot().iter(f"{SVG}title")}
    shipped = load_config([docs.parent]).plans["main"]
    assert set(shipped.nodes) <= titles
    assert (docs / "main-menu.png").read_bytes().startswith(b"\x89PNG")
