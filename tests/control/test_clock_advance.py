"""The test clock's advance (:func:`raybus.control.clock.advance`) over fake participants.

Each fake holds timers, as a partition host does: settling at ``now`` runs every timer due by
then (a timer's work may set new timers, here or at another participant) and reports the
earliest one still ahead. The advance must run every timer of the interval at its own time, in
time order, including the ones created on the way; stop early, at a consistent time, past any
bound; and never move a clock back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest

from raybus.control.clock import MAX_BUSY_REPORTED, Advance, ClockParticipant, advance
from raybus.core.clock import ClockReport

Work = Callable[[int], None]


class Timers:
    """A participant with timers. ``settle`` first yields to the loop (so participants of one
    round interleave as real hosts do), then runs the due timers in time order; each run adds
    one to the generation, like a unit of work starting."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.timers: list[tuple[int, str, Work]] = []
        self.ran: list[tuple[int, str]] = []  # (the clock when it ran, the timer's label)
        self.sets: list[tuple[int, bool]] = []
        self.settles: list[int] = []
        self.generation = 0

    def at(self, when_ms: int, label: str, work: Work = lambda now_ms: None) -> None:
        self.timers.append((when_ms, label, work))

    async def set_clock(self, now_ms: int, wake: bool) -> None:
        self.sets.append((now_ms, wake))

    async def settle(self, now_ms: int, horizon_ms: int, timeout_s: float) -> ClockReport:
        self.settles.append(now_ms)
        await asyncio.sleep(0)
        while due := sorted((t for t in self.timers if t[0] <= now_ms), key=lambda t: t[0]):
            timer = due[0]
            self.timers.remove(timer)
            self.generation += 1
            self.ran.append((now_ms, timer[1]))
            timer[2](now_ms)
        ahead = [when for when, _, _ in self.timers if now_ms < when <= horizon_ms]
        return ClockReport(True, self.generation, min(ahead) if ahead else None)


def run(
    participants: list[ClockParticipant], start_ms: int, target_ms: int, **bounds: object
) -> Advance:
    return asyncio.run(advance(participants, start_ms, target_ms, **bounds))  # type: ignore[arg-type]


def ticking(step_s: float) -> Callable[[], float]:
    """A monotonic clock that moves ``step_s`` every time it is read (real time passing)."""
    ticks: Iterator[int] = iter(range(1_000_000))
    return lambda: next(ticks) * step_s


# -- order -----------------------------------------------------------------------------------


def test_every_timer_in_the_interval_runs_at_its_own_time_in_time_order() -> None:
    host = Timers("host-0")
    for when in (1_300, 1_100, 1_200):
        host.at(when, f"t{when}")
    host.at(1_500, "beyond the target")
    reported: list[int] = []
    result = run([host], 1_000, 1_400, on_step=reported.append)
    assert host.ran == [(1_100, "t1100"), (1_200, "t1200"), (1_300, "t1300")]
    assert result == Advance(1_400, 1_400, steps=3)
    assert reported == [1_000, 1_100, 1_200, 1_300, 1_400]
    assert host.sets == [(1_000, False), (1_100, False), (1_200, False), (1_300, False),
                         (1_400, True)]  # fmt: skip


def test_timers_set_by_work_during_the_advance_run_in_the_same_advance() -> None:
    """A retry chain (Lambda's: one minute, then two): each retry exists only once the attempt
    before it failed, yet one advance plays the whole chain."""
    host = Timers("host-0")

    def attempt(now_ms: int) -> None:
        tries = sum(1 for _, label in host.ran if label == "attempt")
        if tries < 3:
            host.at(now_ms + 60_000 * tries, "attempt", attempt)
        else:
            host.at(now_ms, "dead-letter")

    host.at(0, "attempt", attempt)
    result = run([host], 0, 400_000)
    assert host.ran == [(0, "attempt"), (60_000, "attempt"), (180_000, "attempt"),
                        (180_000, "dead-letter")]  # fmt: skip
    assert result == Advance(400_000, 400_000, steps=2)


def test_work_handed_to_a_participant_that_already_reported_is_waited_for() -> None:
    """Host 0's timer sends to host 1 after host 1 reported in that round; host 1's work sets a
    timer. The advance must not step on the first round's reports, or it would miss it."""
    sender, receiver = Timers("host-0"), Timers("host-1")

    def deliver(now_ms: int) -> None:
        receiver.at(now_ms, "delivered", lambda at: receiver.at(at + 50, "retry"))

    sender.at(100, "send", deliver)
    result = run([receiver, sender], 0, 1_000)
    assert receiver.ran == [(100, "delivered"), (150, "retry")]
    assert result.steps == 2


def test_a_step_waits_for_two_rounds_with_the_same_generations() -> None:
    class Restless:
        """Quiescent each time it is asked, but work started between the first reports."""

        name = "restless"

        def __init__(self) -> None:
            self.calls: list[str] = []
            self.generations = iter([1, 2, 3, 3, 3, 3])

        async def set_clock(self, now_ms: int, wake: bool) -> None:
            self.calls.append(f"set {now_ms}")

        async def settle(self, now_ms: int, horizon_ms: int, timeout_s: float) -> ClockReport:
            self.calls.append(f"settle {now_ms}")
            return ClockReport(True, next(self.generations), 50 if now_ms < 50 else None)

    restless = Restless()
    run([restless], 0, 100)
    assert restless.calls == ["set 0", "settle 0", "settle 0", "settle 0", "settle 0",
                              "set 50", "settle 50", "settle 50", "set 100"]  # fmt: skip


def test_due_times_outside_the_interval_are_no_steps() -> None:
    class Early:
        """Reports a time already passed, then one past the target (a due time may be early)."""

        name = "early"

        def __init__(self) -> None:
            self.sets: list[int] = []

        async def set_clock(self, now_ms: int, wake: bool) -> None:
            self.sets.append(now_ms)

        async def settle(self, now_ms: int, horizon_ms: int, timeout_s: float) -> ClockReport:
            return ClockReport(True, 0, now_ms if not self.sets[1:] else horizon_ms + 1)

    early = Early()
    assert run([early], 500, 900) == Advance(900, 900, steps=0)
    assert early.sets == [500, 900]


def test_an_advance_by_nothing_settles_at_now_and_moves_no_clock() -> None:
    host = Timers("host-0")
    host.at(700, "due now")
    assert run([host], 700, 700) == Advance(700, 700, steps=0)
    assert host.ran == [(700, "due now")]
    assert host.sets == [(700, False)]


def test_a_clock_never_moves_backwards() -> None:
    with pytest.raises(ValueError, match="backwards"):
        run([Timers("host-0")], 1_000, 999)


# -- bounds ----------------------------------------------------------------------------------


def test_past_max_steps_it_stops_at_the_last_step_and_a_second_advance_goes_on() -> None:
    host = Timers("host-0")
    for when in (10, 20, 30):
        host.at(when, f"t{when}")
    first = run([host], 0, 100, max_steps=2)
    assert (first.now_ms, first.steps, first.stopped) == (20, 2, "steps")
    assert host.ran == [(10, "t10"), (20, "t20")]
    assert host.sets[-1] == (20, True)  # everything is woken where it stopped
    second = run([host], first.now_ms, 100, max_steps=2)
    assert second == Advance(100, 100, steps=1)
    assert host.ran[-1] == (30, "t30")
    times = [at for at, _ in host.sets]
    assert times == sorted(times)  # across both advances the clock only moved forward


def test_a_participant_still_busy_at_its_deadline_stops_the_advance_naming_what_was_busy() -> None:
    class Busy:
        name = "host-1"

        def __init__(self) -> None:
            self.waits: list[float] = []

        async def set_clock(self, now_ms: int, wake: bool) -> None:
            pass

        async def settle(self, now_ms: int, horizon_ms: int, timeout_s: float) -> ClockReport:
            self.waits.append(timeout_s)
            busy = ("queue q/0: AsyncPoller", "topic t/0: work due")
            return ClockReport(False, 7, None, busy) if now_ms >= 20 else ClockReport(True, 1, 20)

    busy = Busy()
    result = run([busy], 0, 100, step_timeout_s=5.0, monotonic=lambda: 0.0)
    assert (result.now_ms, result.steps, result.stopped) == (20, 1, "quiescence")
    assert result.busy == ("host-1: queue q/0: AsyncPoller", "host-1: topic t/0: work due")
    assert busy.waits[-1] == 5.0  # each step may wait its whole timeout


def test_a_step_that_never_becomes_quiet_runs_out_of_its_step_timeout() -> None:
    class Churning(Timers):
        async def settle(self, now_ms: int, horizon_ms: int, timeout_s: float) -> ClockReport:
            self.generation += 1  # something starts between every two rounds
            return ClockReport(True, self.generation, None)

    result = run([Churning("host-0")], 0, 100, step_timeout_s=10.0, monotonic=ticking(1.0))
    assert (result.now_ms, result.steps, result.stopped) == (0, 0, "quiescence")


def test_the_budget_ends_an_advance_of_many_quick_steps() -> None:
    host = Timers("host-0")
    for when in range(1, 101):
        host.at(when, f"t{when}")
    result = run([host], 0, 1_000, step_timeout_s=60.0, budget_s=20.0, monotonic=ticking(1.0))
    assert result.stopped == "budget"
    assert 0 < result.steps < 100
    assert result.now_ms == result.steps  # where the last step it took was
    assert host.ran[-1][0] < result.now_ms  # its work was not waited for ...
    assert host.sets[-1] == (result.now_ms, True)  # ... but woken, as at a target


def test_a_participant_that_fails_to_settle_makes_the_advance_stop_as_unreachable() -> None:
    class Gone(Timers):
        async def settle(self, now_ms: int, horizon_ms: int, timeout_s: float) -> ClockReport:
            if now_ms >= 30:
                raise ConnectionError("host-1 died")
            return await super().settle(now_ms, horizon_ms, timeout_s)

    healthy, gone = Timers("host-0"), Gone("host-1")
    healthy.at(30, "t30")
    healthy.at(60, "t60")
    result = run([healthy, gone], 0, 100)
    assert (result.now_ms, result.stopped) == (30, "unreachable")
    assert result.busy == ("host-1: ConnectionError('host-1 died')",)
    assert healthy.ran == [(30, "t30")]  # nothing after the stop


def test_a_participant_whose_clock_cannot_be_set_stops_the_advance_at_that_time() -> None:
    class Unsettable(Timers):
        async def set_clock(self, now_ms: int, wake: bool) -> None:
            if now_ms >= 40:
                raise TimeoutError()
            await super().set_clock(now_ms, wake)

    host, unsettable = Timers("host-0"), Unsettable("host-1")
    host.at(40, "t40")
    result = run([host, unsettable], 0, 100)
    assert (result.now_ms, result.stopped) == (40, "unreachable")
    assert [at for at, _ in host.sets] == [0, 40, 40]  # the reported clock is never behind a host
    assert host.ran == []  # no work ran at 40: the step was never settled


# -- the error -------------------------------------------------------------------------------


def test_an_early_stop_is_the_clock_advance_incomplete_error_with_its_details() -> None:
    stopped = Advance(1_500, 4_000, 3, "quiescence", tuple(f"host-0: unit {i}" for i in range(30)))
    error = stopped.error()
    assert error.code == "ClockAdvanceIncomplete"
    assert error.http_status == 409 and not error.retriable
    assert "stopped at 1500, 2500 ms before its target 4000" in error.message
    assert "Advance again" in error.message
    details = error.details
    assert (details["now_ms"], details["target_ms"], details["steps"]) == (1_500, 4_000, 3)
    assert details["reason"] == "quiescence"
    assert details["busy"] == [f"host-0: unit {i}" for i in range(MAX_BUSY_REPORTED)]
