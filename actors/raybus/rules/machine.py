"""The compiled matcher: every rule's branches merged into one state machine.

Structure (after aws/event-ruler's NameState machine): a branch is a sequence of
``(path, condition)`` steps; the machine is a trie of those sequences. Each :class:`Node` keeps,
per field path, one :class:`~raybus.rules.index.FieldIndex` over the conditions leaving it, and
the nodes that ``exists: false`` conditions lead to. Two branches share a node exactly when their
step sequences so far are equal, so reaching a node proves the conditions on the way (no false
positives from sharing). A node that ends branches lists their rule ids.

Matching an event: flatten only the fields some rule mentions (:class:`PathTrie`), then walk from
the root; from each reached node, look each of its field paths up in the event and each value up
in that field's index. Work per event depends on the event and on how many rule conditions its
values actually satisfy, not on the number of rules: indexes answer in O(log n) or O(1).

Array consistency: every value carries the array elements it sits in (``(id(array), index)``
pairs); a walk may only combine values whose elements agree for every array they share.
``exists: false`` holds when no value of the field agrees with the elements combined so far.

Step order: conditions of a branch are tested most selective first (exact before prefix before
ranges before exists/anything-but, then by path) when the branch has no ``exists: false``; such a
result does not depend on order. Branches with ``exists: false`` keep event-ruler's order (paths
sorted as Java sorts strings), because there an absence is judged against the values combined
before it.

Not thread-safe: one writer or reader at a time (engines own their RuleSet).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

from raybus.rules.flatten import Membership, PathTrie
from raybus.rules.index import FieldIndex
from raybus.rules.model import Branch, Condition

__all__ = ["Machine", "Node", "java_order", "order_branch"]


def java_order(path: str) -> bytes:
    """Sort key equal to Java's String.compareTo (UTF-16 code units)."""
    return path.encode("utf-16-be", "surrogatepass")


def order_branch(steps: Iterable[tuple[str, Condition]]) -> Branch:
    items = list(steps)
    if any(cond.absent for _, cond in items):
        return tuple(sorted(items, key=lambda s: java_order(s[0])))
    return tuple(sorted(items, key=lambda s: (s[1].selectivity(), java_order(s[0]))))


class Node:
    __slots__ = ("absent", "children", "fields", "leaf", "owner", "terminal")

    def __init__(self, owner: FieldIndex | None = None) -> None:
        self.leaf = True  # no fields and no absences to test from here
        # The index (in the parent) whose matchers lead here: its memo caches this node's
        # terminal ids and leaf status, so it must forget them when they change.
        self.owner = owner
        self.fields: dict[str, FieldIndex] = {}
        self.absent: dict[str, list[Node]] = {}
        self.terminal: dict[Hashable, int] = {}
        # (path, condition key) -> [child, number of branches through this edge]
        self.children: dict[tuple[str, Any], list[Any]] = {}


def _merge(mem: Membership, more: Membership) -> Membership | None:
    """``mem`` extended by ``more``, or None when they disagree on an array's element."""
    if not mem:
        return more
    known = dict(mem)
    added: list[tuple[int, int]] = []
    for aid, index in more:
        have = known.get(aid)
        if have is None:
            known[aid] = index
            added.append((aid, index))
        elif have != index:
            return None
    return (*mem, *added) if added else mem


def _agrees(mem: Membership, other: Membership) -> bool:
    if not mem or not other:
        return True
    known = dict(mem)
    for aid, index in other:
        have = known.get(aid)
        if have is not None and have != index:
            return False
    return True


class Machine:
    """Branches of many rules in one trie; see the module docstring."""

    def __init__(self) -> None:
        self.root = Node()
        self.paths = PathTrie()
        self._dirty: list[FieldIndex] = []

    def add_branch(self, rule_id: Hashable, branch: Branch) -> None:
        node = self.root
        for path, cond in branch:
            edge_key = (path, cond.key)
            edge = node.children.get(edge_key)
            if edge is None:
                index = None
                if cond.matchers:
                    index = node.fields.get(path)
                    if index is None:
                        index = node.fields[path] = FieldIndex()
                child = Node(index)
                edge = [child, 0]
                node.children[edge_key] = edge
                if index is not None:
                    for matcher in cond.matchers:
                        index.add(matcher, child)
                    self._dirty.append(index)
                if cond.absent:
                    node.absent.setdefault(path, []).append(child)
                if node.leaf:
                    node.leaf = False
                    if node.owner is not None:
                        node.owner.forget()
            edge[1] += 1
            self.paths.add(path)
            node = edge[0]
        node.terminal[rule_id] = node.terminal.get(rule_id, 0) + 1
        if node.owner is not None:
            node.owner.forget()
        self.paths.add_branch([path for path, _ in branch])

    def remove_branch(self, rule_id: Hashable, branch: Branch) -> None:
        self.paths.remove_branch([path for path, _ in branch])
        trail: list[tuple[Node, tuple[str, Any], Condition]] = []
        node = self.root
        for path, cond in branch:
            edge_key = (path, cond.key)
            trail.append((node, edge_key, cond))
            node = node.children[edge_key][0]
            self.paths.remove(path)
        count = node.terminal[rule_id] - 1
        if count:
            node.terminal[rule_id] = count
        else:
            del node.terminal[rule_id]
        if node.owner is not None:
            node.owner.forget()
        for parent, edge_key, cond in reversed(trail):
            edge = parent.children[edge_key]
            edge[1] -= 1
            if edge[1]:
                continue
            child = edge[0]
            del parent.children[edge_key]
            path = edge_key[0]
            if cond.matchers:
                index = parent.fields[path]
                for matcher in cond.matchers:
                    index.remove(matcher, child)
                if index:
                    self._dirty.append(index)
                else:
                    del parent.fields[path]
            if cond.absent:
                parent.absent[path].remove(child)
                if not parent.absent[path]:
                    del parent.absent[path]
            leaf = not parent.fields and not parent.absent
            if leaf and not parent.leaf and parent.owner is not None:
                parent.owner.forget()
            parent.leaf = leaf

    def prepare(self) -> None:
        """Build indexes changed since the last match (matching calls this)."""
        for index in self._dirty:
            if index.dirty:
                index.build()
        self._dirty.clear()

    def match(self, event: Mapping[str, Any]) -> set[Hashable]:
        if self._dirty:
            self.prepare()
        fields = self.paths.flatten(event)
        root = self.root
        out: set[Hashable] = set()
        if not fields and not root.absent:
            out.update(root.terminal)
            return out
        collect = out.update
        field_values = fields.get
        stack: list[tuple[Any, Membership]] = [(root, ())]
        seen: set[tuple[Any, Membership]] = set()
        while stack:
            node, mem = stack.pop()
            if node.terminal:
                collect(node.terminal)
            for path, index in node.fields.items():
                values = field_values(path)
                if values is None:
                    continue
                for value, vm in values:
                    t = type(value)
                    if t is str:
                        memo = index.memo
                        if memo is not None:
                            # Remembered: rule ids of leaf targets, and the inner targets.
                            index.lookups += 1
                            entry = memo.get(value)
                            if entry is None:
                                entry = index.remember(value)
                            ids, inner = entry
                            if not ids and not inner:
                                continue
                            if vm:
                                merged = _merge(mem, vm)
                                if merged is None:
                                    continue
                            else:
                                merged = mem
                            if ids:
                                collect(ids)
                            for nxt in inner:
                                if (nxt, merged) not in seen:
                                    seen.add((nxt, merged))
                                    stack.append((nxt, merged))
                            continue
                        hits = index.str(value)
                    elif value is None or t is bool:
                        hits = index.lit(value)
                    else:
                        starts = index.float_starts
                        if starts is not None and t is float and -1e9 < value < 1e9:
                            i = bisect_right(starts, value) - 1
                            hits = index.float_payloads[i] if i >= 0 else None
                        else:
                            hits = index.num(value)
                    if not hits:
                        continue
                    if vm:
                        merged = _merge(mem, vm)
                        if merged is None:
                            continue
                    else:
                        merged = mem
                    for nxt in hits:
                        if nxt.leaf:
                            collect(nxt.terminal)  # nothing left to test
                        elif (nxt, merged) not in seen:
                            seen.add((nxt, merged))
                            stack.append((nxt, merged))
            if node.absent:
                for path, targets in node.absent.items():
                    values = field_values(path)
                    if values and any(_agrees(mem, vm) for _, vm in values):
                        continue
                    for nxt in targets:
                        if (nxt, mem) not in seen:
                            seen.add((nxt, mem))
                            stack.append((nxt, mem))
        return out
