"""The DOT text of a plan picture: one box per node, shaped and coloured by kind, one arrow per reference."""

from __future__ import annotations

from ivr.config.model import WEEKDAYS, Schedule
from ivr.engine.nodes.base import NodeBase
from ivr.engine.nodes.callback_request import CallbackRequestNode
from ivr.engine.nodes.collect import CollectNode
from ivr.engine.nodes.hangup import HangupNode
from ivr.engine.nodes.hours import HoursNode
from ivr.engine.nodes.language import LanguageNode
from ivr.engine.nodes.menu import MenuNode
from ivr.engine.nodes.play import PlayNode
from ivr.engine.nodes.queue import QueueNode
from ivr.engine.nodes.set_tags import SetNode
from ivr.engine.nodes.transfer import TransferNode
from ivr.graph.model import PlanPicture

# kind -> (shape, fill colour)
STYLES = {
    "play": ("note", "#dbe8f9"),
    "menu": ("box", "#ffe8a3"),
    "language": ("box", "#e4d8f7"),
    "collect": ("component", "#fde0c5"),
    "hours": ("tab", "#cfe9ff"),
    "set": ("rect", "#ececec"),
    "queue": ("cylinder", "#c9efc9"),
    "transfer": ("box3d", "#cdeff0"),
    "hangup": ("octagon", "#f6cccc"),
    "callback_request": ("cylinder", "#f2e3c9"),
}
PROBLEM = "#c00000"
EDGE_COLOURS = {"open": "#2e7d32", "closed": "#b71c1c", "holiday": "#ad1457", "fallback": "#757575"}


def plan_to_dot(picture: PlanPicture) -> str:
    lines = [
        f"digraph {_quote(picture.name)} {{",
        '  graph [rankdir=TB, fontname="DejaVu Sans", fontsize=11, nodesep=0.35, ranksep=0.45, labelloc=t,',
        f"         label={_quote(_title(picture))}];",
        '  node [fontname="DejaVu Sans", fontsize=10, style="filled,rounded", penwidth=1.2];',
        '  edge [fontname="DejaVu Sans", fontsize=9, arrowsize=0.7];',
        '  "(call)" [shape=circle, label="call", style=filled, fillcolor="#333333", fontcolor=white,'
        " width=0.6, fixedsize=true];",
    ]
    if picture.start:
        lines.append(f"  \"(call)\" -> {_quote(picture.start)} [label=\"start\"];")
    unreachable = picture.unreachable
    for node_id in picture.ids:
        lines.append(f"  {_quote(node_id)} [{_node_attributes(picture, node_id, node_id in unreachable)}];")
    for node_id in picture.missing:
        label = _quote(node_id + "\n(no such node)")
        lines.append(f"  {_quote(node_id)} [label={label}, shape=box, "
                     f'style="dashed", color="{PROBLEM}", fontcolor="{PROBLEM}", class="missing"];')
    for edge in picture.edges:
        colour = PROBLEM if edge.target in picture.missing else EDGE_COLOURS.get(edge.label, "#333333")
        style = ", style=dashed" if edge.label == "fallback" or edge.target in picture.missing else ""
        lines.append(f"  {_quote(edge.source)} -> {_quote(edge.target)} [label={_quote(edge.label)}, "
                     f'color="{colour}", fontcolor="{colour}"{style}];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _title(picture: PlanPicture) -> str:
    title = f"plan {picture.name}"
    if picture.numbers:
        title += f" — {', '.join(picture.numbers)}"
    count = sum(len(p) for p in picture.problems.values()) + len(picture.other_problems)
    return title + (f"\n{count} problem(s): see `ivr check`" if count else "")


def _node_attributes(picture: PlanPicture, node_id: str, unreachable: bool) -> str:
    node = picture.nodes.get(node_id)
    kind = node.kind_name if node else picture.broken[node_id]
    shape, fill = STYLES.get(kind, ("box", "#ffffff"))
    label = [node_id, f"[{kind}]", *(_details(node, picture) if node else ["(does not validate)"])]
    problems = picture.problems.get(node_id, [])
    classes = ["node-" + kind]
    attributes = [f"shape={shape}", f'fillcolor="{fill}"']
    style = "filled,rounded" if shape == "box" else "filled"
    if unreachable:
        label.append("UNREACHABLE")
        classes.append("unreachable")
        style += ",dashed"
    if problems or node is None:
        label.append(f"{len(problems)} problem(s)" if problems else "broken")
        classes.append("problem")
    if unreachable or problems or node is None:
        attributes += [f'color="{PROBLEM}"', "penwidth=2.5"]
    if problems:
        attributes.append(f"tooltip={_quote(chr(10).join(p.message for p in problems))}")
    attributes += [f'style="{style}"', f'class="{" ".join(classes)}"', f"label={_quote(chr(10).join(label))}"]
    return ", ".join(attributes)


def _details(node: NodeBase, picture: PlanPicture) -> list[str]:
    if isinstance(node, PlayNode | MenuNode | CollectNode | HangupNode | LanguageNode) and node.prompt:
        lines = [f"prompt: {node.prompt}"]
    else:
        lines = []
    if isinstance(node, LanguageNode):
        lines.append(", ".join(f"{key}={lang}" for key, lang in node.options.items()))
    elif isinstance(node, MenuNode):
        lines.append(f"{node.attempts} tries, {node.timeout:g} s")
    elif isinstance(node, CollectNode):
        lines.append(f"{node.min_digits}-{node.max_digits} digits → {node.variable}")
    elif isinstance(node, HoursNode):
        schedule = picture.schedules.get(node.schedule)
        lines += [f"schedule: {node.schedule}", *(schedule_lines(schedule) if schedule else ["(unknown schedule)"])]
    elif isinstance(node, SetNode):
        lines += [f"{key}={value}" for key, value in node.tags.items()]
    elif isinstance(node, QueueNode):
        group = picture.groups.get(node.group)
        lines.append(f"queue {group.queue}" if group else f"group {node.group} (unknown)")
        lines += [f"prompt: {node.prompt}"] if node.prompt else []
        lines += [f"priority {node.priority}"] if node.priority else []
    elif isinstance(node, TransferNode):
        lines.append(f"to {node.target}")
    elif isinstance(node, CallbackRequestNode):
        group = picture.groups.get(node.group)
        requests = group.callback_requests if group else None
        lines.append(f"call back from {group.queue}" if group else f"group {node.group} (unknown)")
        lines += [f"at the next opening ({requests.schedule}), {requests.per_day} a day"] if requests else []
    elif isinstance(node, HangupNode) and node.reason:
        lines.append(f"reason: {node.reason}")
    return lines


def schedule_lines(schedule: Schedule) -> list[str]:
    """Weekly hours with runs of equal days folded ("mon-fri 07:00-18:00"), then holidays and exceptions."""
    lines: list[str] = []
    runs: list[tuple[str, str, str]] = []  # first day, last day, hours
    for day in WEEKDAYS:
        hours = ", ".join(schedule.weekly.get(day, ())) or "closed"
        if runs and runs[-1][2] == hours:
            runs[-1] = (runs[-1][0], day, hours)
        else:
            runs.append((day, day, hours))
    for first, last, hours in runs:
        lines.append(f"{first}{'-' + last if last != first else ''} {hours}")
    lines.append(f"holidays {schedule.public_holidays}, eves {schedule.eves}")
    if schedule.day_before_holiday is not None:
        lines.append(f"day before holiday {', '.join(schedule.day_before_holiday)}")
    if schedule.exceptions:
        lines.append(f"{len(schedule.exceptions)} dated exception(s)")
    return lines


def _quote(text: str) -> str:
    """A DOT double-quoted string; newlines become DOT's centred line breaks."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
