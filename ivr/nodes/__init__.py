"""Node kinds, one module each, registered by name."""

from __future__ import annotations

from types import MappingProxyType

from ivr.nodes.base import NodeBase, Outcome, Ref, Step
from ivr.nodes.collect import CollectNode
from ivr.nodes.hangup import HangupNode
from ivr.nodes.hours import HoursNode
from ivr.nodes.language import LanguageNode
from ivr.nodes.menu import MenuNode
from ivr.nodes.play import PlayNode
from ivr.nodes.queue import QueueNode
from ivr.nodes.set_tags import SetNode
from ivr.nodes.transfer import TransferNode

NODE_KINDS: MappingProxyType[str, type[NodeBase]] = MappingProxyType(
    {
        cls.kind_name: cls
        for cls in (
            PlayNode, MenuNode, CollectNode, HoursNode, LanguageNode, SetNode, QueueNode, TransferNode,
            HangupNode,
        )
    }
)

__all__ = ["NODE_KINDS", "NodeBase", "Outcome", "Ref", "Step"]
