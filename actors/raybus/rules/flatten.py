"""Event flattening restricted to the field paths some rule mentions.

:class:`PathTrie` holds the dotted paths of all rules (split at dots, reference-counted).
``flatten(event)`` returns ``path -> [(value, membership)]`` for the leaf values at those paths,
where a path is the event's keys joined with dots (so ``{"a": {"b": 1}}`` and ``{"a.b": 1}``
both give ``a.b``, as in event-ruler) and arrays are transparent (each element is a value of the
same path). ``membership`` lists ``(id(array), index)`` for the enclosing arrays whose elements
can matter for array consistency (those under a prefix shared by two steps of one branch); for
all others it is left out, which saves work and changes no result.

Cost: O(event keys visited); at each object it either looks up the keys rules mention (and the
dotted spellings of deeper paths) or scans the object's keys, whichever is fewer. Subtrees no
rule mentions are never entered.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

__all__ = ["Fields", "Membership", "PathTrie", "TrieNode", "shared_prefixes"]

Membership = tuple[tuple[int, int], ...]
Fields = dict[str, list[tuple[Any, Membership]]]

_SCALARS = frozenset({str, float, int, bool, type(None)})
_MISSING = object()


class TrieNode:
    __slots__ = ("children", "dotted", "keys", "path", "refs", "track")

    def __init__(self) -> None:
        self.children: dict[str, TrieNode] = {}
        self.path: str | None = None  # set when a rule mentions exactly this path
        self.refs = 0
        # Number of branches with two or more steps under this prefix: only arrays here can
        # make one branch's values inconsistent, so only their elements are recorded.
        self.track = 0
        # Derived (finalize): dotted spellings of deeper paths, and every key worth a lookup.
        self.dotted: dict[str, TrieNode] = {}
        self.keys: tuple[tuple[str, TrieNode], ...] = ()


def shared_prefixes(paths: list[str]) -> list[str]:
    """Dotted prefixes (whole segments, the path itself included) of two or more paths."""
    counts: dict[str, int] = {}
    for path in paths:
        parts = path.split(".")
        for end in range(1, len(parts) + 1):
            prefix = ".".join(parts[:end])
            counts[prefix] = counts.get(prefix, 0) + 1
    return [prefix for prefix, count in counts.items() if count > 1]


class PathTrie:
    """The dotted paths rules mention; see the module docstring."""

    def __init__(self) -> None:
        self.root = TrieNode()
        self.dirty = False

    def add(self, path: str) -> None:
        node = self.root
        for part in path.split("."):
            node = node.children.setdefault(part, TrieNode())
        node.path = path
        node.refs += 1
        self.dirty = True

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
            if node.refs or node.children or node.track:
                break
            del trail[depth - 1].children[parts[depth - 1]]
        self.dirty = True

    def _node(self, prefix: str) -> TrieNode:
        node = self.root
        for part in prefix.split("."):
            node = node.children[part]
        return node

    def add_branch(self, paths: list[str]) -> None:
        """Call after ``add`` of each path of a branch."""
        for prefix in shared_prefixes(paths):
            self._node(prefix).track += 1

    def remove_branch(self, paths: list[str]) -> None:
        """Call before ``remove`` of each path of a branch."""
        for prefix in shared_prefixes(paths):
            self._node(prefix).track -= 1

    def finalize(self) -> None:
        """Recompute the derived lookup tables (after changes, before flattening)."""

        def below(node: TrieNode) -> list[tuple[str, TrieNode]]:
            # Every descendant as (dotted key relative to node, descendant).
            found: list[tuple[str, TrieNode]] = []
            for key, child in node.children.items():
                found.append((key, child))
                found.extend((f"{key}.{rest}", deep) for rest, deep in below(child))
            return found

        def visit(node: TrieNode) -> None:
            descendants = below(node)
            node.dotted = {key: deep for key, deep in descendants if key not in node.children}
            node.keys = tuple(descendants)
            for child in node.children.values():
                visit(child)

        visit(self.root)
        self.dirty = False

    def flatten(self, event: Mapping[str, Any]) -> Fields:
        if self.dirty:
            self.finalize()
        out: Fields = {}
        if self.root.children:
            _walk(event, self.root, (), out)
        return out


def _add(out: Fields, path: str, value: Any, mem: Membership) -> None:
    found = out.get(path)
    if found is None:
        out[path] = [(value, mem)]
    else:
        found.append((value, mem))


def _walk(obj: Mapping[str, Any], tnode: TrieNode, mem: Membership, out: Fields) -> None:
    keys = tnode.keys
    if len(keys) < len(obj):
        for key, node in keys:
            value = obj.get(key, _MISSING)
            if value is _MISSING:
                continue
            if type(value) in _SCALARS:
                leaf = node.path
                if leaf is not None:
                    found = out.get(leaf)
                    if found is None:
                        out[leaf] = [(value, mem)]
                    else:
                        found.append((value, mem))
            else:
                _container(value, node, mem, out)
        return
    children = tnode.children
    dotted = tnode.dotted
    for key, value in obj.items():
        child = children.get(key)
        if child is None:
            if not dotted:
                continue
            child = dotted.get(key)
            if child is None:
                continue
        if type(value) in _SCALARS:
            leaf = child.path
            if leaf is not None:
                have = out.get(leaf)
                if have is None:
                    out[leaf] = [(value, mem)]
                else:
                    have.append((value, mem))
        else:
            _container(value, child, mem, out)


def _container(value: Any, node: TrieNode, mem: Membership, out: Fields) -> None:
    t = type(value)
    if t is dict:
        if node.children:
            _walk(value, node, mem, out)
    elif t is list:
        _walk_list(value, node, mem, out)
    else:
        _walk_other(value, node, mem, out)


def _walk_list(arr: Any, node: TrieNode, mem: Membership, out: Fields) -> None:
    track = node.track
    keys = node.keys
    if not track and len(keys) == 1 and node.path is None and not keys[0][1].children:
        _walk_records(arr, node, mem, out)
        return
    aid = id(arr)
    path = node.path
    for i, value in enumerate(arr):
        here = (*mem, (aid, i)) if track else mem
        t = type(value)
        if t is dict:
            if not keys:
                continue
            if len(keys) >= len(value):
                _walk(value, node, here, out)
                continue
            # Inline lookups: arrays of small objects (points, records) are the common case.
            for key, child in keys:
                item = value.get(key, _MISSING)
                if item is _MISSING:
                    continue
                if type(item) in _SCALARS:
                    leaf = child.path
                    if leaf is not None:
                        found = out.get(leaf)
                        if found is None:
                            out[leaf] = [(item, here)]
                        else:
                            found.append((item, here))
                else:
                    _container(item, child, here, out)
        elif t in _SCALARS:
            if path is not None:
                _add(out, path, value, here)
        elif t is list:
            _walk_list(value, node, here, out)
        else:
            _walk_other(value, node, here, out)


def _walk_records(arr: Any, node: TrieNode, mem: Membership, out: Fields) -> None:
    """An array under a prefix where one leaf path is mentioned (e.g. ``points[].x``)."""
    key, child = node.keys[0]
    leaf = child.path
    assert leaf is not None
    found = out.get(leaf)
    for value in arr:
        t = type(value)
        if t is dict:
            item = value.get(key, _MISSING)
            if item is _MISSING:
                continue
            if type(item) in _SCALARS:
                if found is None:
                    found = out[leaf] = []
                found.append((item, mem))
            else:
                _container(item, child, mem, out)
                found = out.get(leaf)
        elif t is list:
            _walk_records(value, node, mem, out)
            found = out.get(leaf)
        elif t not in _SCALARS:
            _walk_other(value, node, mem, out)
            found = out.get(leaf)


def _walk_other(value: Any, node: TrieNode, mem: Membership, out: Fields) -> None:
    """Containers and scalars of types other than json's (Mapping, tuple, subclasses)."""
    if isinstance(value, Mapping):
        if node.children:
            _walk(value, node, mem, out)
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
        _add(out, node.path, value, mem)
