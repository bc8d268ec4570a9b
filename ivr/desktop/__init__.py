"""The agents' and supervisors' web desktop (issue 11, docs/desktop.md), served beside the wallboard."""
