"""Per-field value indexes: from one field value to every target whose matcher accepts it.

A :class:`FieldIndex` holds ``matcher -> targets`` for one field path at one machine state and,
once built, answers "which targets accept this value" without looking at each matcher:

- exact strings, literals, numeric equality, ignore-case equality: one hash lookup;
- prefixes and suffixes (plain or ignore-case): one lookup per distinct affix length;
- numeric ranges and CIDR blocks: a binary search over precomputed elementary intervals;
- wildcards: candidates bucketed by the literal text before the first and after the last star
  (one lookup per distinct pair of lengths), then a regex check for patterns with two or more
  stars;
- anything-but: all its targets minus those a failure index (built like the above) rejects;
- exists: a constant.

So a lookup costs O(distinct affix lengths + log(ranges) + wildcard candidates + output), not
O(matchers). Building is O(matchers x overlap of ranges); indexes rebuild lazily after changes.
Targets are opaque hashable objects (machine nodes). Results are shared: do not mutate them.

String lookups costlier than one hash lookup are remembered per index (``memo``, bounded,
dropped on rebuild or :meth:`FieldIndex.forget`, switched off when fewer than half the lookups
hit), because field values repeat a lot in event streams.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Hashable, Iterable
from typing import Any, TypeVar

from raybus.rules import model as mk
from raybus.rules.cidr import parse_ip
from raybus.rules.model import Matcher, fold, literal_of, wildcard_checker
from raybus.rules.numbers import number_key
from raybus.rules.wildcard import compile_wildcard

__all__ = ["FieldIndex", "IntervalIndex", "NumberIndex", "WildcardIndex"]

Targets = tuple[Hashable, ...]
StrProbe = Callable[[str], "Iterable[Hashable] | None"]
NumProbe = Callable[[Any], "Iterable[Hashable] | None"]
V = TypeVar("V")

_NONE: Targets = ()
MEMO_SIZE = 4096
MEMO_PROBATION = 256


def _none_str(_value: str) -> None:
    return None


def _none_num(_value: Any) -> None:
    return None


class IntervalIndex:
    """Closed integer intervals -> payloads; ``query(x)`` is a binary search."""

    __slots__ = ("payloads", "starts")

    def __init__(self, items: Iterable[tuple[int, int, Targets]]) -> None:
        events: dict[int, list[tuple[int, Targets]]] = {}
        for low, high, payload in items:
            if low > high:
                continue
            events.setdefault(low, []).append((1, payload))
            events.setdefault(high + 1, []).append((-1, payload))
        active: dict[Targets, int] = {}
        starts: list[int] = []
        payloads: list[Targets] = []
        for point in sorted(events):
            for delta, payload in events[point]:
                count = active.get(payload, 0) + delta
                if count:
                    active[payload] = count
                else:
                    del active[payload]
            starts.append(point)
            payloads.append(tuple(t for p in active for t in p))
        self.starts = starts
        self.payloads = payloads

    def query(self, x: int) -> Targets:
        i = bisect_right(self.starts, x) - 1
        return self.payloads[i] if i >= 0 else _NONE


class NumberIndex:
    """Numeric equality and ranges of one field as elementary intervals of number keys.

    A key interval [lo, hi] holds the numbers v with lo <= floor(v * 10**6) <= hi, that is
    lo/10**6 <= v < (hi+1)/10**6. For |v| < 10**9 every such bound has at most 15 significant
    digits, so comparing the float v with the nearest double of the bound is exact (shortest
    decimal forms are monotonic and round-trip at 15 digits); the search then needs no key.
    Larger in-range values use the exact integer key.
    """

    __slots__ = ("_key_starts", "float_starts", "payloads")

    def __init__(self, items: Iterable[tuple[int, int, Targets]]) -> None:
        intervals = IntervalIndex(items)
        self._key_starts = intervals.starts
        self.payloads = intervals.payloads
        self.float_starts = [float(f"{k}e-6") for k in intervals.starts]

    def query(self, v: Any) -> Targets:
        t = type(v)
        if (t is float or t is int) and -1e9 < v < 1e9:
            i = bisect_right(self.float_starts, v) - 1
        else:
            key = number_key(v)
            if key is None:
                return _NONE
            i = bisect_right(self._key_starts, key) - 1
        return self.payloads[i] if i >= 0 else _NONE


class WildcardIndex:
    """Wildcard values -> payloads, bucketed by the literal text before the first star and
    after the last one: a value is checked only against patterns whose head and tail it has."""

    __slots__ = ("_always", "_shapes")

    def __init__(self, items: Iterable[tuple[str, Any]]) -> None:
        # (len(head), len(tail)) -> head -> tail -> [(fullmatch or None, payload)]; with one
        # star (or none) the bucket itself proves the match, else the regex checks the middle.
        shapes: dict[tuple[int, int], dict[str, dict[str, list[Any]]]] = {}
        self._always: list[tuple[Callable[[str], bool], Any]] = []
        for value, payload in items:
            head, tail, rx = compile_wildcard(value)
            if head or tail:
                full = rx.fullmatch if rx is not None else None
                by_head = shapes.setdefault((len(head), len(tail)), {})
                by_head.setdefault(head, {}).setdefault(tail, []).append((full, payload))
            else:
                self._always.append((wildcard_checker(value), payload))
        self._shapes = sorted(
            ((h, t, h + t, table) for (h, t), table in shapes.items()), key=lambda s: s[2]
        )

    def query(self, v: str) -> list[Any]:
        out: list[Any] = []
        n = len(v)
        for head, tail, need, table in self._shapes:
            if need > n:
                break
            by_tail = table.get(v[:head])
            if by_tail is None:
                continue
            entries = by_tail.get(v[n - tail :])
            if entries:
                for full, payload in entries:
                    if full is None or full(v) is not None:
                        out.append(payload)
        for check, payload in self._always:
            if check(v):
                out.append(payload)
        return out


def _by_length(table: dict[str, Targets]) -> list[tuple[int, dict[str, Targets]]]:
    by_length: dict[int, dict[str, Targets]] = {}
    for text, targets in table.items():
        by_length.setdefault(len(text), {})[text] = targets
    return sorted(by_length.items())


def _affix_probe(
    prefixes: dict[str, Any] | None,
    suffixes: dict[str, Any] | None,
    equal_folded: dict[str, Any] | None = None,
    prefixes_folded: dict[str, Any] | None = None,
    suffixes_folded: dict[str, Any] | None = None,
) -> StrProbe:
    """One probe for prefix/suffix tables (plain and folded) and folded equality: one lookup
    per distinct affix length; the value is folded once."""
    plain = [(sfx, _by_length(t)) for sfx, t in ((False, prefixes), (True, suffixes)) if t]
    folded = [
        (sfx, _by_length(t)) for sfx, t in ((False, prefixes_folded), (True, suffixes_folded)) if t
    ]
    fold_needed = bool(folded or equal_folded)

    def probe(v: str) -> list[Hashable] | None:
        out: list[Hashable] | None = None
        for text, tables in ((v, plain), (fold(v) if fold_needed else v, folded)):
            n = len(text)
            for is_suffix, lengths in tables:
                for length, bucket in lengths:
                    if length > n:
                        break
                    hit = bucket.get(text[n - length :] if is_suffix else text[:length])
                    if hit:
                        if out is None:
                            out = list(hit)
                        else:
                            out.extend(hit)
            if equal_folded is not None and tables is folded:
                hit = equal_folded.get(text)
                if hit:
                    if out is None:
                        out = list(hit)
                    else:
                        out.extend(hit)
        return out

    return probe


def _compose(
    probes: list[Callable[[V], Iterable[Hashable] | None]],
) -> Callable[[V], list[Hashable] | None]:
    """One probe asking each of ``probes`` in turn; the hits concatenated (None if none)."""

    def run(v: V) -> list[Hashable] | None:
        out: list[Hashable] | None = None
        for probe in probes:
            hit = probe(v)
            if hit:
                if out is None:
                    out = list(hit)
                else:
                    out.extend(hit)
        return out

    return run


def _compose_str(probes: list[StrProbe]) -> StrProbe:
    if not probes:
        return _none_str
    return probes[0] if len(probes) == 1 else _compose(probes)


def _compose_num(probes: list[NumProbe]) -> NumProbe:
    if not probes:
        return _none_num
    return probes[0] if len(probes) == 1 else _compose(probes)


def _dedupe(targets: list[Hashable]) -> Targets:
    return tuple(dict.fromkeys(targets))


class FieldIndex:
    """Matchers of one field at one machine state; see the module docstring for costs."""

    __slots__ = (
        "_targets", "dirty", "float_payloads", "float_starts", "lit", "lookups", "memo",
        "misses", "num", "str",
    )  # fmt: skip

    def __init__(self) -> None:
        self._targets: dict[Matcher, list[Hashable]] = {}
        self.dirty = True
        self.str: StrProbe = _none_str
        self.num: NumProbe = _none_num
        self.lit: Callable[[Any], Iterable[Hashable] | None] = _none_str
        # Set when numbers need only the interval search: callers may inline it for floats
        # in (-1e9, 1e9) (see NumberIndex).
        self.float_starts: list[float] | None = None
        # Results for recent string values when a string lookup costs more than one hash
        # lookup (affixes, wildcards, anything-but, ...): field values repeat a lot in event
        # streams (sources, types, states, names). Bounded; cleared on every rebuild.
        self.memo: dict[str, tuple[frozenset[Hashable], Targets]] | None = None
        self.lookups = 0  # counted by the caller while the memo is on
        self.misses = 0
        self.float_payloads: list[Targets] = []

    def __bool__(self) -> bool:
        return bool(self._targets)

    def add(self, matcher: Matcher, target: Hashable) -> None:
        self._targets.setdefault(matcher, []).append(target)
        self.dirty = True

    def remove(self, matcher: Matcher, target: Hashable) -> None:
        targets = self._targets[matcher]
        targets.remove(target)
        if not targets:
            del self._targets[matcher]
        self.dirty = True

    def lookup(self, value: Any) -> Iterable[Hashable] | None:
        """Targets whose matcher accepts ``value`` (possibly repeated); builds if needed."""
        if self.dirty:
            self.build()
        t = type(value)
        if t is str:
            return self.str(value)
        if value is None or t is bool:
            return self.lit(value)
        return self.num(value)

    def remember(self, value: str) -> tuple[frozenset[Hashable], Targets]:
        """The string lookup, remembered as (rule ids of leaf targets, other targets).

        Call only when ``memo`` is not None. Targets are machine nodes (``leaf``,
        ``terminal``); the machine calls :meth:`forget` when those change.
        """
        memo = self.memo
        assert memo is not None
        self.misses += 1
        if self.misses >= MEMO_PROBATION and self.misses * 2 > self.lookups:
            # Mostly distinct values (ids, timestamps): remembering costs more than it saves.
            self.memo = None
        hits: Any = self.str(value) or ()
        ids = frozenset(i for node in hits if node.leaf for i in node.terminal)
        inner = tuple(dict.fromkeys(node for node in hits if not node.leaf))
        if len(memo) >= MEMO_SIZE:
            memo.clear()
        entry = memo[value] = (ids, inner)
        return entry

    def forget(self) -> None:
        """Drop remembered results (a target's rule ids or leaf status changed)."""
        if self.memo:
            self.memo.clear()

    def build(self) -> None:
        groups: dict[str, dict[Any, Targets]] = {}
        for (kind, arg), targets in self._targets.items():
            groups.setdefault(kind, {})[arg] = _dedupe(targets)
        str_probes: list[StrProbe] = []
        num_probes: list[NumProbe] = []
        lit_probes: list[StrProbe] = []

        if mk.EXACT in groups:
            str_probes.append(groups[mk.EXACT].get)
        affix_kinds = (mk.PREFIX, mk.SUFFIX, mk.EQUALS_IC, mk.PREFIX_IC, mk.SUFFIX_IC)
        if any(kind in groups for kind in affix_kinds):
            tables = [groups.get(kind) for kind in affix_kinds]
            str_probes.append(_affix_probe(*tables))
        if mk.WILDCARD in groups:
            wild = WildcardIndex(groups[mk.WILDCARD].items())

            def wild_probe(v: str) -> list[Hashable]:
                return [t for targets in wild.query(v) for t in targets]

            str_probes.append(wild_probe)
        if mk.CIDR in groups:
            by_width: dict[int, list[tuple[int, int, Targets]]] = {}
            for (width, low, high), net_targets in groups[mk.CIDR].items():
                by_width.setdefault(width, []).append((low, high, net_targets))
            nets = {w: IntervalIndex(items) for w, items in by_width.items()}

            def cidr_probe(v: str) -> Targets | None:
                ip = parse_ip(v)
                if ip is None:
                    return None
                net = nets.get(ip[0])
                return net.query(ip[1]) if net is not None else None

            str_probes.append(cidr_probe)
        if mk.NUM_EQ in groups or mk.NUM_RANGE in groups:
            spans = [(k, k, t) for k, t in groups.get(mk.NUM_EQ, {}).items()]
            spans += [(lo, hi, t) for (lo, hi), t in groups.get(mk.NUM_RANGE, {}).items()]
            numbers = NumberIndex(spans)
            num_probes.append(numbers.query)
        if mk.NUM_LIT in groups:
            literal_numbers = groups[mk.NUM_LIT]

            def literal_probe(v: Any) -> Targets | None:
                return literal_numbers.get(v) if number_key(v) is None else None

            num_probes.append(literal_probe)
        if mk.LITERAL in groups:
            literals = groups[mk.LITERAL]
            lit_probes.append(lambda v: literals.get(literal_of(v)))
        if mk.EXISTS in groups:
            present = groups[mk.EXISTS][None]
            str_probes.append(lambda v: present)
            num_probes.append(lambda v: present)
            lit_probes.append(lambda v: present)
        ab_items = [(kind, arg, t) for kind, g in groups.items() for arg, t in g.items()
                    if kind in mk.ANYTHING_BUT_KINDS]  # fmt: skip
        if ab_items:
            ab_str, ab_num, ab_all = _anything_but_probes(ab_items)
            str_probes.append(ab_str)
            num_probes.append(ab_num)
            lit_probes.append(lambda v: ab_all)

        self.str = _compose_str(str_probes)
        plain_dict = len(str_probes) == 1 and mk.EXACT in groups
        self.memo = None if plain_dict or not str_probes else {}
        self.lookups = self.misses = 0
        self.num = _compose_num(num_probes)
        if len(num_probes) == 1 and (mk.NUM_EQ in groups or mk.NUM_RANGE in groups):
            self.float_starts = numbers.float_starts
            self.float_payloads = numbers.payloads
        else:
            self.float_starts = None
        self.lit = _compose_str(lit_probes)
        self.dirty = False


def _anything_but_probes(
    items: list[tuple[str, Any, Targets]],
) -> tuple[StrProbe, NumProbe, Targets]:
    """Probes returning the targets of every anything-but that the value does not hit."""
    every = tuple(t for _, _, targets in items for t in targets)
    exact: dict[str, list[int]] = {}
    folded: dict[str, list[int]] = {}
    numbers: dict[int, list[int]] = {}
    prefixes: dict[str, Targets] = {}
    suffixes: dict[str, Targets] = {}
    wild_items: list[tuple[str, int]] = []
    for i, (kind, arg, _) in enumerate(items):
        if kind == mk.AB:
            for s in arg:
                exact.setdefault(s, []).append(i)
        elif kind == mk.AB_IC:
            for s in arg:
                folded.setdefault(s, []).append(i)
        elif kind == mk.AB_NUM:
            for k in arg:
                numbers.setdefault(k, []).append(i)
        elif kind == mk.AB_PREFIX:
            for s in arg:
                prefixes[s] = (*prefixes.get(s, ()), i)
        elif kind == mk.AB_SUFFIX:
            for s in arg:
                suffixes[s] = (*suffixes.get(s, ()), i)
        else:
            wild_items.extend((s, i) for s in arg)
    failing_str: list[StrProbe] = []
    if exact:
        failing_str.append(exact.get)
    if folded:
        failing_str.append(lambda v: folded.get(fold(v)))
    if prefixes:
        failing_str.append(_affix_probe(prefixes, None))
    if suffixes:
        failing_str.append(_affix_probe(None, suffixes))
    if wild_items:
        wild = WildcardIndex(wild_items)
        failing_str.append(wild.query)
    failures = _compose_str(failing_str)

    def survivors(failed: Iterable[Hashable]) -> Targets:
        dead = set(failed)
        return tuple(t for i, (_, _, targets) in enumerate(items) if i not in dead for t in targets)

    def ab_str(v: str) -> Targets:
        failed = failures(v)
        return survivors(failed) if failed else every

    def ab_num(v: Any) -> Targets:
        key = number_key(v)
        failed = numbers.get(key) if key is not None else None
        return survivors(failed) if failed else every

    return ab_str, ab_num, every
