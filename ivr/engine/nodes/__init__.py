"""Node kinds, one module each, registered by name."""

from __future__ import annotations

from types import MappingProxyType

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

NODE_KINDS: MappingProxyType[str, type[NodeBase]] = MappingProxyType(
    {
        cls.kind_name: cls
        for cls in (
            PlayNode, MenuNode, CollectNode, HoursNode, LanguageNode, SetNode, QueueNode, TransferNode,
            HangupNode, CallbackRequestNode,
        )
    }
)

__all__ = ["NODE_KINDS", "NodeBase"]
