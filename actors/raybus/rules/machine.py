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

from collections.abc import Hashable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from raybus.rules.index import FieldIndex
from raybus.rules.model import Branch, Condition
from raybus.rules.numbers import number_key

__all__ = ["Machine", "Node", "PathTrie", "java_order", "order_branch"]

Membership = tuple[tuple[int, int], ...]
Fields = dict[str, list[tuple[Any, Membership]]]


def java_order(path: str) -> bytes:
    """Sort key equal to Java's String.compareTo (UTF-16 code units)."""
    return path.encode("utf-16-be", "surrogatepass")


def order_branch(steps: Iterable[tuple[str, Condition]]) -> Branch:
    items = list(steps)
    if any(cond.absent for _, cond in items):
        return tuple(sorted(items, key=lambda s: java_order(s[0])))
    return tuple(sorted(items, key=lambda s: (s[1].selectivity(), java_order(s[0]))))


class Node:
    __slots__ = ("absent", "children", "fields", "terminal")

    def __init__(self) -> None:
        self.fields: dict[str, FieldIndex] = {}
        self.absent: dict[str, list[Node]] = {}
        self.terminal: dict[Hashable, int] = {}
        # (path, condition key) -> [child, number of branches through this edge]
        self.children: dict[tuple[str, Any], list[Any]] = {}


class _TrieNode:
    __slots__ = ("children", "path", "refs")

    def __init__(self) -> None:
        self.children: dict[str, _TrieNode] = {}
        self.path: str | None = None
        self.refs = 0


class PathTrie:
    """The dotted paths rules mention, split at dots, with reference counts."""

    def __init__(self) -> None:
        self.root = _TrieNode()

    def add(self, path: str) -> None:
        node = self.root
        for part in path.split("."):
            node = node.children.setdefault(part, _TrieNode())
        node.path = path
        node.refs += 1

    def remove(self, path: str) -> None:
        trail = [self.root]
        parts = path.split(".")
        for part in parts:
            trail.append(trail[-1].children[part])
        leaf = trail[-1]
        leaf.refs -= 1
        if leaf.refs == 0:
            leaf.path = None
        for depth in range(len(parts), 0, -1):
            node = trail[depth]
            if node.refs or node.children:
                break
            del trail[depth - 1].children[parts[depth - 1]]

    def flatten(self, event: Mapping[str, Any]) -> Fields:
        """Values (with array membership) of the mentioned paths that the event has."""
        out: Fields = {}
        _walk(event, self.root.children, (), out)
        return out


def _resolve(children: dict[str, _TrieNode], dotted: str) -> _TrieNode | None:
    node: _TrieNode | None = None
    for part in dotted.split("."):
        node = children.get(part)
        if node is None:
            return None
        children = node.children
    return node


def _walk(obj: Mapping[str, Any], children: dict[str, _TrieNode], mem: Membership,
          out: Fields) -> None:  # fmt: skip
    for key, value in obj.items():
        node = children.get(key)
        if node is None:
            if "." not in key:
                continue
            node = _resolve(children, key)
            if node is None:
                continue
        t = type(value)
        if t is dict:
            if node.children:
                _walk(value, node.children, mem, out)
        elif t is list:
            _walk_list(value, node, mem, out)
        elif t is str or t is float or t is int or t is bool or value is None:
            path = node.path
            if path is not None:
                found = out.get(path)
                if found is None:
                    out[path] = [(value, mem)]
                else:
                    found.append((value, mem))
        else:
            _walk_other(value, node, mem, out)


def _walk_list(arr: Any, node: _TrieNode, mem: Membership, out: Fields) -> None:
    aid = id(arr)
    path = node.path
    children = node.children
    for i, value in enumerate(arr):
        here = (*mem, (aid, i))
        t = type(value)
        if t is dict:
            if children:
                _walk(value, children, here, out)
        elif t is list:
            _walk_list(value, node, here, out)
        elif t is str or t is float or t is int or t is bool or value is None:
            if path is not None:
                found = out.get(path)
                if found is None:
                    out[path] = [(value, here)]
                else:
                    found.append((value, here))
        else:
            _walk_other(value, node, here, out)


def _walk_other(value: Any, node: _TrieNode, mem: Membership, out: Fields) -> None:
    if isinstance(value, Mapping):
        if node.children:
            _walk(value, node.children, mem, out)
    elif isinstance(value, (list, tuple)):
        _walk_list(value, node, mem, out)
    elif node.path is not None:
        # Subclasses of JSON types are held as the plain type; other objects are not values.
        if isinstance(value, str):
            value = str(value)
        elif isinstance(value, bool):
            value = bool(value)
        elif isinstance(value, int):
            value = int(value)
        elif isinstance(value, float):
            value = float(value)
        elif not isinstance(value, Decimal):
            return
        out.setdefault(node.path, []).append((value, mem))


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
                child = Node()
                edge = [child, 0]
                node.children[edge_key] = edge
                if cond.matchers:
                    index = node.fields.get(path)
                    if index is None:
                        index = node.fields[path] = FieldIndex()
                    for matcher in cond.matchers:
                        index.add(matcher, child)
                    self._dirty.append(index)
                if cond.absent:
                    node.absent.setdefault(path, []).append(child)
            edge[1] += 1
            self.paths.add(path)
            node = edge[0]
        node.terminal[rule_id] = node.terminal.get(rule_id, 0) + 1

    def remove_branch(self, rule_id: Hashable, branch: Branch) -> None:
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
        out: set[Hashable] = set()
        stack: list[tuple[Any, Membership]] = [(self.root, ())]
        seen: set[tuple[Any, Membership]] = set()
        keys: dict[int, int | None] = {}
        while stack:
            node, mem = stack.pop()
            if node.terminal:
                out.update(node.terminal)
            node_fields = node.fields
            if node_fields and fields:
                for path, index in node_fields.items():
                    values = fields.get(path)
                    if values is None:
                        continue
                    for value, vm in values:
                        t = type(value)
                        if t is str:
                            hits = index.str(value)
                        elif value is None or t is bool:
                            hits = index.lit(value)
                        else:
                            vid = id(value)
                            if vid in keys:
                                key = keys[vid]
                            else:
                                key = keys[vid] = number_key(value)
                            hits = index.num(value, key)
                        if not hits:
                            continue
                        if vm:
                            merged = _merge(mem, vm)
                            if merged is None:
                                continue
                        else:
                            merged = mem
                        for nxt in hits:
                            item = (nxt, merged)
                            if item not in seen:
                                seen.add(item)
                                stack.append(item)
            if node.absent:
                for path, targets in node.absent.items():
                    values = fields.get(path)
                    if values and any(_agrees(mem, vm) for _, vm in values):
                        continue
                    for nxt in targets:
                        item = (nxt, mem)
                        if item not in seen:
                            seen.add(item)
                            stack.append(item)
        return out
