"""CommandDeadline: one timer per session that still times out each command at its own deadline."""

from __future__ import annotations

import asyncio

import pytest

from ivr.agi.deadline import CommandDeadline


async def _wait_under(deadline: CommandDeadline, seconds: float, work: float) -> str:
    task = asyncio.current_task()
    assert task is not None
    deadline.arm(task, seconds)
    try:
        await asyncio.sleep(work)
        return "done"
    except asyncio.CancelledError:
        if deadline.expired and task.uncancel() == 0:
            return "timed out"
        raise
    finally:
        deadline.disarm()


async def test_command_past_its_deadline_is_cancelled_and_marked_expired() -> None:
    deadline = CommandDeadline(asyncio.get_running_loop())
    assert await _wait_under(deadline, 0.05, 5) == "timed out"
    deadline.close()


async def test_quick_commands_finish_and_a_later_one_keeps_its_own_longer_deadline() -> None:
    deadline = CommandDeadline(asyncio.get_running_loop())
    assert await _wait_under(deadline, 0.05, 0) == "done"  # leaves the timer at +0.05 s
    # The early timer fires while this command runs; it must wait for this command's own deadline.
    assert await _wait_under(deadline, 0.5, 0.15) == "done"
    assert not deadline.expired
    deadline.close()


async def test_shorter_deadline_after_a_long_one_still_fires_in_time() -> None:
    deadline = CommandDeadline(asyncio.get_running_loop())
    assert await _wait_under(deadline, 600, 0) == "done"  # a long STREAM FILE left a far timer
    began = asyncio.get_running_loop().time()
    assert await _wait_under(deadline, 0.05, 5) == "timed out"
    assert asyncio.get_running_loop().time() - began < 1
    deadline.close()


async def test_cancellation_from_elsewhere_is_not_taken_for_a_timeout() -> None:
    deadline = CommandDeadline(asyncio.get_running_loop())
    task = asyncio.create_task(_wait_under(deadline, 5, 5))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not deadline.expired
    deadline.close()
