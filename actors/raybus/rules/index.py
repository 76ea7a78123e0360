"""Per-field value indexes: from one field value to every target whose matcher accepts it.

A :class:`FieldIndex` holds ``matcher -> targets`` for one field path at one machine state and,
once built, answers "which targets accept this value" without looking at each matcher:

- exact strings, literals, numeric equality, ignore-case equality: one hash lookup;
- prefixes and suffixes (plain or ignore-case): one lookup per distinct affix length;
- numeric ranges and CIDR blocks: a binary search over precomputed elementary intervals;
- wildcards: candidates by literal prefix (or suffix) bucket, then a check of each candidate;
- anything-but: all its targets minus those a failure index (built like the above) rejects;
- exists: a constant.

So a lookup costs O(distinct affix lengths + log(ranges) + wildcard candidates + output), not
O(matchers). Building is O(matchers x overlap of ranges); indexes rebuild lazily after changes.
Targets are opaque hashable objects (machine nodes). Results are shared tuples: do not mutate.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from raybus.rules import model as mk
from raybus.rules.cidr import parse_ip
from raybus.rules.model import Matcher, fold, literal_of, wildcard_checker
from raybus.rules.numbers import number_key
from raybus.rules.wildcard import compile_wildcard

__all__ = ["FieldIndex", "IntervalIndex", "WildcardIndex"]

Targets = tuple[Hashable, ...]
StrProbe = Callable[[str], "Iterable[Hashable] | None"]
NumProbe = Callable[[Any, "int | None"], "Iterable[Hashable] | None"]

_NONE: Targets = ()


def _none_str(_value: str) -> None:
    return None


def _none_num(_value: Any, _key: int | None) -> None:
    return None


class IntervalIndex:
    """Closed integer intervals -> payloads; ``query(x)`` is a binary search."""

    __slots__ = ("_payloads", "_starts")

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
        self._starts = starts
        self._payloads = payloads

    def query(self, x: int) -> Targets:
        i = bisect_right(self._starts, x) - 1
        return self._payloads[i] if i >= 0 else _NONE


class WildcardIndex:
    """Wildcard values -> payloads, bucketed by their literal prefix (else suffix)."""

    __slots__ = ("_always", "_prefix", "_suffix")

    def __init__(self, items: Iterable[tuple[str, Any]]) -> None:
        prefix: dict[int, dict[str, list[tuple[Callable[[str], bool], Any]]]] = {}
        suffix: dict[int, dict[str, list[tuple[Callable[[str], bool], Any]]]] = {}
        self._always: list[tuple[Callable[[str], bool], Any]] = []
        for value, payload in items:
            head, tail, _ = compile_wildcard(value)
            entry = (wildcard_checker(value), payload)
            if head:
                prefix.setdefault(len(head), {}).setdefault(head, []).append(entry)
            elif tail:
                suffix.setdefault(len(tail), {}).setdefault(tail, []).append(entry)
            else:
                self._always.append(entry)
        self._prefix = sorted(prefix.items())
        self._suffix = sorted(suffix.items())

    def query(self, v: str) -> list[Any]:
        out: list[Any] = []
        n = len(v)
        for length, bucket in self._prefix:
            if length > n:
                break
            entries = bucket.get(v[:length])
            if entries:
                out.extend(p for check, p in entries if check(v))
        for length, bucket in self._suffix:
            if length > n:
                break
            entries = bucket.get(v[n - length :])
            if entries:
                out.extend(p for check, p in entries if check(v))
        for check, p in self._always:
            if check(v):
                out.append(p)
        return out


def _affix_probe(table: dict[str, Targets], suffix: bool, folded: bool) -> StrProbe:
    by_length: dict[int, dict[str, Targets]] = {}
    for text, targets in table.items():
        by_length.setdefault(len(text), {})[text] = targets
    lengths = sorted(by_length.items())

    def probe(v: str) -> list[Hashable] | None:
        if folded:
            v = fold(v)
        n = len(v)
        out: list[Hashable] | None = None
        for length, bucket in lengths:
            if length > n:
                break
            hit = bucket.get(v[n - length :] if suffix else v[:length])
            if hit:
                if out is None:
                    out = list(hit)
                else:
                    out.extend(hit)
        return out

    return probe


def _compose_str(probes: list[StrProbe]) -> StrProbe:
    if not probes:
        return _none_str
    if len(probes) == 1:
        return probes[0]

    def run(v: str) -> list[Hashable] | None:
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


def _compose_num(probes: list[NumProbe]) -> NumProbe:
    if not probes:
        return _none_num
    if len(probes) == 1:
        return probes[0]

    def run(v: Any, key: int | None) -> list[Hashable] | None:
        out: list[Hashable] | None = None
        for probe in probes:
            hit = probe(v, key)
            if hit:
                if out is None:
                    out = list(hit)
                else:
                    out.extend(hit)
        return out

    return run


def _dedupe(targets: list[Hashable]) -> Targets:
    return tuple(dict.fromkeys(targets))


class FieldIndex:
    """Matchers of one field at one machine state; see the module docstring for costs."""

    __slots__ = ("_targets", "dirty", "lit", "num", "str")

    def __init__(self) -> None:
        self._targets: dict[Matcher, list[Hashable]] = {}
        self.dirty = True
        self.str: StrProbe = _none_str
        self.num: NumProbe = _none_num
        self.lit: Callable[[Any], Iterable[Hashable] | None] = _none_str

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
        return self.num(value, number_key(value))

    def build(self) -> None:
        groups: dict[str, dict[Any, Targets]] = {}
        for (kind, arg), targets in self._targets.items():
            groups.setdefault(kind, {})[arg] = _dedupe(targets)
        str_probes: list[StrProbe] = []
        num_probes: list[NumProbe] = []
        lit_probes: list[StrProbe] = []

        if mk.EXACT in groups:
            str_probes.append(groups[mk.EXACT].get)
        if mk.EQUALS_IC in groups:
            table = groups[mk.EQUALS_IC]
            str_probes.append(lambda v: table.get(fold(v)))
        for kind, suffix, folded in (
            (mk.PREFIX, False, False),
            (mk.SUFFIX, True, False),
            (mk.PREFIX_IC, False, True),
            (mk.SUFFIX_IC, True, True),
        ):
            if kind in groups:
                str_probes.append(_affix_probe(groups[kind], suffix, folded))
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
        if mk.NUM_EQ in groups:
            equal = groups[mk.NUM_EQ]
            num_probes.append(lambda v, key: equal.get(key) if key is not None else None)
        if mk.NUM_RANGE in groups:
            ranges = IntervalIndex((lo, hi, t) for (lo, hi), t in groups[mk.NUM_RANGE].items())
            num_probes.append(lambda v, key: ranges.query(key) if key is not None else None)
        if mk.NUM_LIT in groups:
            literal_numbers = groups[mk.NUM_LIT]
            num_probes.append(lambda v, key: literal_numbers.get(v) if key is None else None)
        if mk.LITERAL in groups:
            literals = groups[mk.LITERAL]
            lit_probes.append(lambda v: literals.get(literal_of(v)))
        if mk.EXISTS in groups:
            present = groups[mk.EXISTS][None]
            str_probes.append(lambda v: present)
            num_probes.append(lambda v, key: present)
            lit_probes.append(lambda v: present)
        ab_items = [(kind, arg, t) for kind, g in groups.items() for arg, t in g.items()
                    if kind in mk.ANYTHING_BUT_KINDS]  # fmt: skip
        if ab_items:
            ab_str, ab_num, ab_all = _anything_but_probes(ab_items)
            str_probes.append(ab_str)
            num_probes.append(ab_num)
            lit_probes.append(lambda v: ab_all)

        self.str = _compose_str(str_probes)
        self.num = _compose_num(num_probes)
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
        failing_str.append(_affix_probe(prefixes, suffix=False, folded=False))
    if suffixes:
        failing_str.append(_affix_probe(suffixes, suffix=True, folded=False))
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

    def ab_num(v: Any, key: int | None) -> Targets:
        failed = numbers.get(key) if key is not None else None
        return survivors(failed) if failed else every

    return ab_str, ab_num, every
