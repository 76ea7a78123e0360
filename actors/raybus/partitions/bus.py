"""Buses in the partition layer: rules matched at put time, one delivery lane per target.

PutEvents is a typed operation (:class:`~raybus.engines.bus.ops.PutEvents`): each entry is
matched against every enabled rule of the bus at once — the rules' patterns are compiled into
one :class:`raybus.rules.RuleSet`, so matching costs about the same for 10 or 10,000 rules —
and logged with the targets it matched, then acknowledged after the commit.

Delivery: one loop per partition hands each target with work to a task of its own (at most
``PARALLEL_TARGETS`` at a time, one batch in flight per target), so a slow or failing target
never delays another. A task takes a batch from the engine, shapes each event for the target
(Input, InputPath, InputTransformer: :mod:`raybus.rules.transform`), delivers it, and settles
the outcomes — the transfer protocol (:func:`~raybus.partitions.transfer.transfer`): the
event leaves the target's queue only once the target committed it, so a crash repeats an
event, never loses one. Failures are retried on the target's RetryPolicy on the injected clock;
then the event goes to the target's dead-letter queue with EventBridge's attributes
(``RULE_ARN``, ``TARGET_ARN``, ``ERROR_CODE``, ``ERROR_MESSAGE``,
``EXHAUSTED_RETRY_CONDITION``, ``RETRY_ATTEMPTS``), or is dropped if it has none.

Targets (through the dispatcher): a queue (one batched send; a FIFO queue gets the target's
message group and the event id as deduplication id), a topic (one batched publish), a function
(one asynchronous invocation per event, through its durable event queue; a shaped input that
is not JSON is passed as a JSON string), another bus (PutEvents of the same event).

Scheduled rules fire on partition 0 of the default bus: at each time the rule's expression
gives (after the rule's creation, on the injected clock; missed times are not made up, as on
AWS) an event ``{"source": "aws.events", "detail-type": "Scheduled Event", "resources":
[<rule ARN>], "detail": {}}`` limited to that rule.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from raybus.core.arns import (
    api_destination_arn,
    archive_arn,
    bus_arn,
    function_arn,
    queue_arn,
    rule_arn,
    topic_arn,
)
from raybus.core.attributes import Attribute
from raybus.core.buses import (
    ALL_MANAGEMENT_EVENTS,
    API_CALL_DETAIL_TYPE,
    ARCHIVE_RULE_PREFIX,
    ARCHIVE_TARGET_ID,
    DEFAULT_BUS,
    ApiDestinationConfig,
    BusConfig,
    ConnectionConfig,
    EventEntry,
    ReplayConfig,
    RuleConfig,
    TargetConfig,
    target_key,
)
from raybus.core.errors import RaybusError
from raybus.core.routing import async_queue_name
from raybus.core.topics import PublishEntry
from raybus.engines import SendEntry
from raybus.engines.bus.engine import (
    BusPartition,
    Delivery,
    Event,
    Exhausted,
    PermanentFailure,
    TargetSpec,
)
from raybus.engines.ops import Turn
from raybus.partitions.shell import Environment, PartitionShell
from raybus.partitions.transfer import transfer
from raybus.rules import RuleSet
from raybus.rules.schedule import Schedule, parse_schedule
from raybus.rules.transform import CompiledInput, InputShape, compile_input
from raybus.storage import PartitionLog

__all__ = ["BUSES", "BusBehaviour", "BusPartitions", "target_arn"]

log = logging.getLogger(__name__)

DELIVERY_BATCH = 100
HTTP_PARALLEL = 16
REPLAY_BATCH = 100
PARALLEL_TARGETS = 64
ERROR_PAUSE_S = 1.0

BusShell = PartitionShell[BusPartition]


def target_arn(target: TargetConfig) -> str:
    if target.kind == "archive":
        return archive_arn(target.name)
    if target.kind == "api_destination":
        return api_destination_arn(target.name)
    if target.kind == "queue":
        return queue_arn(target.name)
    if target.kind == "topic":
        return topic_arn(target.name)
    if target.kind == "function":
        return function_arn(target.name)
    return bus_arn(target.name)


def _error_code(error: object) -> str:
    """EventBridge's ERROR_CODE for a failed delivery."""
    if isinstance(error, RaybusError):
        if error.code in ("QueueDoesNotExist", "ResourceNotFound"):
            return "RESOURCE_NOT_FOUND"
        if error.code in ("Throttled", "TooManyRequestsException"):
            return "THROTTLING"
    return "SDK_CLIENT_ERROR"


@dataclass(frozen=True, slots=True)
class _Target:
    key: str
    rule: RuleConfig
    config: TargetConfig
    shape: CompiledInput
    rule_arn: str
    arn: str


class BusBehaviour:
    def __init__(self, shell: BusShell, env: Environment) -> None:
        self.shell = shell
        self.dispatcher = env.dispatcher
        self.targets: dict[str, _Target] = {}
        self._rules = RuleSet()
        self._patterns: dict[str, str] = {}  # rule name → the pattern compiled into _rules
        self._all_management: set[str] = set()  # rules that see read-only API calls too
        self._rule_targets: dict[str, tuple[str, ...]] = {}  # rule name → target keys
        self._schedules: dict[str, tuple[Schedule, int]] = {}  # rule name → (schedule, next)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._replays: dict[str, asyncio.Task[None]] = {}
        self._replay_configs: dict[str, ReplayConfig] = {}
        self._paces: dict[str, _Pace] = {}  # API destination → its pacing in this partition
        self._loop: asyncio.Task[None] | None = None

    @property
    def engine(self) -> BusPartition:
        return self.shell.engine

    @property
    def config(self) -> BusConfig:
        return self.engine.config

    @property
    def _schedules_here(self) -> bool:
        return self.config.name == DEFAULT_BUS and self.engine.partition == 0

    def configured(self, config: Any) -> None:
        pass

    def committed(self, turn: Turn) -> None:
        pass

    def due(self, now_ms: int) -> bool:
        if any(at <= now_ms for _, at in self._schedules.values()):
            return True
        expiry = self.engine.next_expiry_ms()
        if expiry is not None and expiry <= now_ms:
            return True
        return any(key not in self._tasks for key in self.engine.ready(now_ms))

    def next_due_ms(self, now_ms: int) -> int | None:
        times = [at for _, at in self._schedules.values()]
        for due in (self.engine.next_due_ms(), self.engine.next_expiry_ms()):
            if due is not None:
                times.append(due)
        return min(times) if times else None

    # -- rules ----------------------------------------------------------------------------------
    async def attach(self, attached: Sequence[Any]) -> None:
        """Install the bus's rules (from the catalog): recompile the matcher, make their
        targets the engine's (durable before it returns), start the delivery loop."""
        rules: list[RuleConfig] = []
        replays: list[ReplayConfig] = []
        for config in attached:
            if isinstance(config, RuleConfig):
                rules.append(config)
            elif isinstance(config, ReplayConfig):
                replays.append(config)
            elif "archive" in config:
                replays.append(ReplayConfig.from_dict(config))
            else:
                rules.append(RuleConfig.from_dict(config))
        targets: dict[str, _Target] = {}
        rule_targets: dict[str, tuple[str, ...]] = {}
        schedules: dict[str, tuple[Schedule, int]] = {}
        patterns: dict[str, str] = {}
        all_management: set[str] = set()
        now = self.shell.clock.now_ms()
        for rule in rules:
            keys = []
            arn = rule_arn(rule.bus, rule.name)
            for config in rule.targets:
                key = target_key(rule.bus, rule.name, config.id)
                keys.append(key)
                targets[key] = _Target(key, rule, config, _shape(config), arn, target_arn(config))
            rule_targets[rule.name] = tuple(keys)
            if not rule.enabled:
                continue
            if rule.state == ALL_MANAGEMENT_EVENTS:
                all_management.add(rule.name)
            if rule.event_pattern is not None:
                patterns[rule.name] = rule.event_pattern
            if rule.schedule_expression is not None and self._schedules_here:
                known = self._schedules.get(rule.name)
                if known is not None and known[0].expression == rule.schedule_expression:
                    schedules[rule.name] = known
                else:
                    schedule = parse_schedule(rule.schedule_expression, anchor_ms=rule.created_ms)
                    upcoming = schedule.next_after(max(now, rule.created_ms))
                    if upcoming is not None:
                        schedules[rule.name] = (schedule, upcoming)
        # the compiled machine changes only where patterns did (a rule change costs its own
        # pattern, not all of them)
        for name in [n for n in self._patterns if patterns.get(n) != self._patterns[n]]:
            self._rules.remove(name)
        for name, pattern in patterns.items():
            if self._patterns.get(name) != pattern:
                self._rules.add(name, pattern)
        self._patterns = patterns
        self._all_management = all_management
        self.targets, self._rule_targets = targets, rule_targets
        self._schedules = schedules
        engine = self.engine
        engine.set_matcher(self._match)
        engine.set_targets(now, [_spec(t) for t in targets.values()])
        engine.forget_replays({replay.name for replay in replays})
        await self.shell.commit()
        for key in list(self._tasks):
            if key not in targets:
                self._tasks.pop(key).cancel()
        self._replay_configs = {replay.name: replay for replay in replays}
        for name in list(self._replays):
            wanted = self._replay_configs.get(name)
            if wanted is None or wanted.state != "RUNNING":
                self._replays.pop(name).cancel()
        for name, replay in self._replay_configs.items():
            if (
                replay.state == "RUNNING"
                and name not in self._replays
                and not engine.replay_progress(name)[2]
                and not self.shell.closed
            ):
                self._replays[name] = self.shell.spawn(self._replay(replay))
        if self._loop is None and not self.shell.closed:
            self._loop = self.shell.spawn(self._run())
        self.shell.wake()

    # -- replays --------------------------------------------------------------------------------
    async def _replay(self, replay: ReplayConfig) -> None:
        """Put this partition's archived events of ``replay``'s window on the bus again, in
        order, recording progress after each batch (a restart continues from there)."""
        shell, engine = self.shell, self.engine
        key = target_key(replay.bus, ARCHIVE_RULE_PREFIX + replay.archive, ARCHIVE_TARGET_ID)
        last = engine.replay_progress(replay.name)[0]
        try:
            while not shell.closed and self._replay_configs.get(replay.name) == replay:
                batch = engine.archived(key, replay.start_ms, replay.end_ms, last, REPLAY_BATCH)
                if not batch:
                    engine.record_replay(shell.clock.now_ms(), replay.name, last, True)
                    await shell.commit()
                    return
                entries = [_forwarded(event, replay) for event in batch]
                try:
                    results = await self.dispatcher.put_events(replay.bus, entries)
                except RaybusError as error:
                    results = [error]
                if any(isinstance(r, RaybusError) for r in results):
                    log.warning("replay %s: put refused, retrying: %s", replay.name, results[0])
                    await shell.changed(ERROR_PAUSE_S)
                    continue
                last = batch[-1].seq
                engine.record_replay(shell.clock.now_ms(), replay.name, last, False)
                await shell.commit()
        finally:
            if self._replays.get(replay.name) is asyncio.current_task():
                del self._replays[replay.name]

    def _match(
        self, event: dict[str, Any], only: tuple[str, ...] | None, addressed: bool
    ) -> list[str]:
        keys: list[str] = []
        rule_targets = self._rule_targets
        if addressed:  # a scheduled rule's event: its targets, no pattern to match
            for name in only or ():
                keys.extend(rule_targets.get(name, ()))
            return keys
        matched = self._rules.match(event)
        if matched and _read_only_api_call(event):  # EventBridge's rule for read-only calls
            matched = {rule for rule in matched if rule in self._all_management}
        for rule in matched:
            name = str(rule)
            if only is None or name in only:
                keys.extend(rule_targets.get(name, ()))
        return keys

    # -- the delivery loop ----------------------------------------------------------------------
    async def _run(self) -> None:
        """Start a task for each target with work; fire due schedules. Never dies."""
        shell = self.shell
        while not shell.closed:
            try:
                event = shell.waiting()
                now = shell.clock.now_ms()
                fired = self._fire_schedules(now)
                if self.engine.expire(now) or fired:
                    await shell.commit()
                started = False
                for key in self.engine.ready(now):
                    if key in self._tasks or key not in self.targets:
                        continue
                    if len(self._tasks) >= PARALLEL_TARGETS:
                        break
                    self._tasks[key] = shell.spawn(self._drain(key))
                    started = True
                if not started:
                    await shell.park(event, self._timeout())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery loop of bus %s failed; retrying", self.config.name)
                await shell.changed(ERROR_PAUSE_S)

    def _timeout(self) -> float | None:
        shell = self.shell
        if shell.virtual_clock:
            return None
        due = self.next_due_ms(shell.clock.now_ms())
        if due is None:
            return None
        return max(0.0, (due - shell.clock.now_ms()) / 1000) + 0.001

    def _fire_schedules(self, now_ms: int) -> bool:
        entries: list[EventEntry] = []
        for name, (schedule, at) in list(self._schedules.items()):
            if at > now_ms:
                continue
            entries.append(
                EventEntry(
                    source="aws.events",
                    detail_type="Scheduled Event",
                    detail="{}",
                    resources=(rule_arn(DEFAULT_BUS, name),),
                    time_ms=at,
                    rules=(name,),
                    internal=True,
                    addressed=True,
                )
            )
            upcoming = schedule.next_after(now_ms)
            if upcoming is None:
                del self._schedules[name]
            else:
                self._schedules[name] = (schedule, upcoming)
        if entries:
            self.engine.put(now_ms, entries)
        return bool(entries)

    async def _drain(self, key: str) -> None:
        """Deliver to one target while it has work, then end (the loop starts it again)."""
        shell = self.shell
        try:
            while not shell.closed and key in self.targets:
                try:
                    if not await self._step(key):
                        break
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("delivery to %s failed; retrying", key)
                    await shell.changed(ERROR_PAUSE_S)
        finally:
            if self._tasks.get(key) is asyncio.current_task():
                del self._tasks[key]
            shell.wake()

    async def _step(self, key: str) -> bool:
        shell = self.shell
        target = self.targets[key]
        batch, expired = self.engine.take(shell.clock.now_ms(), key, DELIVERY_BATCH)
        if expired:
            await self._dead_letter(target, expired)
        if not batch:
            await shell.commit()  # the events take dropped (too old, no dead-letter queue)
            return bool(expired)
        exhausted: list[Exhausted] = []
        outcomes: dict[int, object] = {}

        async def send(items: Sequence[Delivery]) -> Sequence[object]:
            try:
                results = await self._deliver(target, items)
            except Exception as error:  # missing or down: every delivery failed with it
                results = [error] * len(items)
            for delivery, result in zip(items, results, strict=True):
                outcomes[delivery.seq] = result
            return results

        async def settle(moved: list[Delivery], failed: list[Delivery]) -> None:
            if shell.closed or key not in self.targets:
                return  # in-flight state is in memory: recovery hands the batch out again
            done = {d.seq for d in moved}
            results = [
                (d.seq, True if d.seq in done else outcomes.get(d.seq, "not delivered"))
                for d in batch
            ]
            exhausted.extend(self.engine.settle(shell.clock.now_ms(), key, results))
            await shell.commit()

        await transfer(batch, send, settle, what=f"bus {self.config.name} target {key}")
        if exhausted:
            await self._dead_letter(target, exhausted)
        return True

    # -- targets --------------------------------------------------------------------------------
    def _render(self, target: _Target, event: Event) -> str:
        if target.shape.whole_event:  # the event as put: its JSON text, already made
            return event.text
        return target.shape.render(
            event.data,
            rule_arn=target.rule_arn,
            rule_name=target.rule.name,
            ingestion_time=_ingestion_time(event.born_ms),
        )

    async def _deliver(self, target: _Target, batch: Sequence[Delivery]) -> Sequence[object]:
        """One result per delivery: anything but an exception is an acknowledgement."""
        config = target.config
        try:
            if config.kind == "bus":
                return await self.dispatcher.put_events(
                    config.name, [_forwarded(d.event) for d in batch]
                )
            bodies = [self._render(target, d.event) for d in batch]
            if config.kind == "queue":
                fifo = await self.dispatcher.is_fifo(config.name)
                entries = [
                    SendEntry(
                        body=body,
                        group_id=config.message_group_id if fifo else None,
                        dedup_id=str(d.event.data["id"]) if fifo else None,
                    )
                    for body, d in zip(bodies, batch, strict=True)
                ]
                return await self.dispatcher.send(config.name, entries)
            if config.kind == "topic":
                return await self.dispatcher.publish(
                    config.name, [PublishEntry(body=body) for body in bodies]
                )
            if config.kind == "api_destination":
                return await self._to_api(target, batch, bodies)
            return await self.dispatcher.send(
                async_queue_name(config.name), [SendEntry(body=_payload(b)) for b in bodies]
            )
        except RaybusError:  # the target is missing or down: retry on the policy
            raise
        except Exception as error:  # settle as failed rather than leave the batch in flight
            log.exception("delivery to %s failed unexpectedly", target.key)
            return [error] * len(batch)

    async def _to_api(
        self, target: _Target, batch: Sequence[Delivery], bodies: Sequence[str]
    ) -> Sequence[object]:
        """One HTTP request per event to the target's API destination, authorized by its
        connection, at most ``HTTP_PARALLEL`` at a time and paced to the destination's rate
        (shared evenly by the bus's partitions). 2xx delivers; 401, 407, 409, 429 and 5xx are
        retried on the policy; any other status fails at once (EventBridge's rule)."""
        config = target.config
        destination: ApiDestinationConfig = await self.dispatcher.resource(
            "api_destination", config.name
        )
        connection: ConnectionConfig = await self.dispatcher.resource(
            "connection", destination.connection
        )
        if connection.deauthorized:
            raise RaybusError(
                "ResourceNotFound",
                f"Connection {connection.name} is deauthorized.",
                resource=connection.name,
            )
        query = {**(connection.query or {}), **(config.http_query or {})}
        url = _invocation_url(destination.endpoint, config.http_path or (), query)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Amazon/EventBridge/ApiDestinations",
            **(connection.headers or {}),
            **(config.http_headers or {}),
            **_authorization(connection),
        }
        partitions = max(1, self.config.partitions or 1)
        pace = self._paces.setdefault(destination.name, _Pace())
        pace.rate = destination.rate_per_s / partitions
        gate = asyncio.Semaphore(HTTP_PARALLEL)
        with_body = destination.method not in ("GET", "HEAD", "OPTIONS")

        async def invoke(body: str) -> object:
            data = _with_body_parameters(body, connection.body).encode() if with_body else None
            async with gate:
                await pace.wait()
                try:
                    status = await self.dispatcher.request(destination.method, url, data, headers)
                except (OSError, TimeoutError) as error:
                    return error
            if 200 <= status < 300:
                return True
            if status in (401, 407, 409, 429) or status >= 500:
                return RaybusError("InternalError", f"The endpoint answered HTTP {status}.")
            return PermanentFailure(f"The endpoint answered HTTP {status}.")

        return list(await asyncio.gather(*(invoke(body) for body in bodies)))

    async def _dead_letter(self, target: _Target, exhausted: Sequence[Exhausted]) -> None:
        """Exhausted events to the target's dead-letter queue with EventBridge's attributes;
        released here only once the queue acknowledged them."""
        dlq = target.config.dead_letter_queue
        shell = self.shell
        if dlq is None:  # the target lost its queue meanwhile: drop, as without one
            self.engine.settle_exhausted(
                shell.clock.now_ms(), target.key, [e.seq for e in exhausted], True
            )
            await shell.commit()
            return
        policy = target.config.retry_policy

        def entry(item: Exhausted) -> SendEntry:
            error = item.error
            too_old = error is None and item.attempts <= policy.maximum_retry_attempts
            message = (
                error.message
                if isinstance(error, RaybusError)
                else str(error)
                if error is not None
                else "The event was not delivered before its retry policy ran out."
            )
            attributes = {
                "RULE_ARN": target.rule_arn,
                "TARGET_ARN": target.arn,
                "ERROR_CODE": _error_code(error),
                "ERROR_MESSAGE": message[:1024] or "Delivery failed.",
                "EXHAUSTED_RETRY_CONDITION": "MaximumEventAgeExhausted"
                if too_old
                else "MaximumRetryAttemptsExhausted",
                "RETRY_ATTEMPTS": str(max(0, item.attempts - 1)),
            }
            return SendEntry(
                body=item.event.text,
                attributes={k: Attribute("String", v) for k, v in attributes.items()},
            )

        async def send(items: Sequence[Exhausted]) -> Sequence[object]:
            return await self.dispatcher.send(dlq, [entry(i) for i in items])

        async def settle(moved: list[Exhausted], failed: list[Exhausted]) -> None:
            now = shell.clock.now_ms()
            if moved:
                self.engine.settle_exhausted(now, target.key, [i.seq for i in moved], True)
            if failed:
                self.engine.settle_exhausted(now, target.key, [i.seq for i in failed], False)
            await shell.commit()

        await transfer(exhausted, send, settle, what=f"dead-letter queue {dlq}")

    async def close(self) -> None:
        tasks = [
            *self._tasks.values(),
            *self._replays.values(),
            *([self._loop] if self._loop is not None else []),
        ]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        self._tasks.clear()
        self._replays.clear()
        self._loop = None


class _Pace:
    """At most ``rate`` starts a second (a leaky bucket on the event loop's clock)."""

    def __init__(self) -> None:
        self.rate = 1.0
        self._next = 0.0

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        start = max(now, self._next)
        self._next = start + 1.0 / self.rate
        if start > now:
            await asyncio.sleep(start - now)


def _invocation_url(endpoint: str, path: Sequence[str], query: dict[str, str]) -> str:
    """The endpoint with each ``*`` replaced by the next path parameter, plus the query."""
    url = endpoint
    for value in path:
        if "*" not in url:
            break
        url = url.replace("*", quote(value, safe=""), 1)
    if query:
        url += ("&" if "?" in url else "?") + urlencode(query)
    return url


def _authorization(connection: ConnectionConfig) -> dict[str, str]:
    if connection.authorization_type == "BASIC":
        token = f"{connection.username}:{connection.password}".encode()
        return {"Authorization": "Basic " + base64.b64encode(token).decode()}
    if connection.api_key_name and connection.api_key_value:
        return {connection.api_key_name: connection.api_key_value}
    return {}


def _with_body_parameters(body: str, parameters: dict[str, str] | None) -> str:
    """The connection's body parameters added to a JSON object body (others unchanged)."""
    if not parameters:
        return body
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if not isinstance(data, dict):
        return body
    return json.dumps({**parameters, **data})


def _read_only_api_call(event: dict[str, Any]) -> bool:
    detail = event.get("detail")
    return (
        event.get("detail-type") == API_CALL_DETAIL_TYPE
        and isinstance(detail, dict)
        and detail.get("readOnly") is True
    )


def _shape(config: TargetConfig) -> CompiledInput:
    return compile_input(
        InputShape(
            input=config.input,
            input_path=config.input_path,
            paths_map=config.input_paths_map,
            template=config.input_template,
        )
    )


def _spec(target: _Target) -> TargetSpec:
    policy = target.config.retry_policy
    if target.config.kind == "archive":
        days = target.config.retention_days or 0
        return TargetSpec(key=target.key, archive=True, retention_ms=days * 86_400_000)
    return TargetSpec(
        key=target.key,
        maximum_retry_attempts=policy.maximum_retry_attempts,
        maximum_event_age_ms=policy.maximum_event_age_s * 1000,
        has_dead_letter_queue=target.config.dead_letter_queue is not None,
    )


@functools.lru_cache(maxsize=1024)
def _ingestion_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _payload(text: str) -> str:
    """A function's event: the shaped input if it is JSON, else that text as a JSON string."""
    try:
        json.loads(text)
    except ValueError:
        return json.dumps(text)
    return text


def _forwarded(event: Event, replay: ReplayConfig | None = None) -> EventEntry:
    """The same event, put on another bus (its source may be AWS's, e.g. an API call), or put
    again by ``replay`` (named, and seen only by the replay's rules)."""
    data = event.data
    time_ms: int | None
    try:
        time_ms = int(
            datetime.strptime(str(data["time"]), "%Y-%m-%dT%H:%M:%SZ")
            .replace(tzinfo=UTC)
            .timestamp()
            * 1000
        )
    except (KeyError, ValueError):
        time_ms = None
    return EventEntry(
        source=data.get("source"),
        detail_type=data.get("detail-type"),
        detail=json.dumps(data.get("detail", {})),
        resources=tuple(data.get("resources", ())),
        time_ms=time_ms,
        internal=True,
        replay_name=None if replay is None else replay.name,
        rules=None if replay is None else replay.rules,
    )


@dataclass(frozen=True, slots=True)
class BusPartitions:
    name: str = "bus"

    def engine(
        self, config: Any, log: PartitionLog, *, tag: int, partition: int, epoch: int
    ) -> BusPartition:
        if not isinstance(config, BusConfig):
            config = BusConfig.from_dict(config)
        return BusPartition(config, log, tag=tag, partition=partition, epoch=epoch)

    def behaviour(self, shell: BusShell, env: Environment) -> BusBehaviour:
        return BusBehaviour(shell, env)


BUSES = BusPartitions()
