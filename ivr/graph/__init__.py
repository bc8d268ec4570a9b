"""`ivr graph`: a picture of a plan, drawn by Graphviz from the typed nodes (even a plan with problems)."""

from ivr.graph.dot import plan_to_dot
from ivr.graph.model import PlanPicture, load_picture
from ivr.graph.render import render

__all__ = ["PlanPicture", "load_picture", "plan_to_dot", "render"]
