"""raybus.rules against moto's EventBridge matcher: events/s as the number of rules grows.

    .venv/bin/python -m benchmarks.bench_rules                     # 10, 100, 1k, 10k rules
    .venv/bin/python -m benchmarks.bench_rules --sizes 10 1000 --runs 3 --events 5000
    .venv/bin/python -m benchmarks.bench_rules --no-moto              # raybus only, ~15 s

Events: generated GeoJSON features shaped like aws/event-ruler's CityLots2 events (about 900
bytes: ``properties`` with MAPBLKLOT, STREET, ST_TYPE, ...; ``geometry`` with ``type``,
``firstCoordinates`` and ``coordinates`` as arrays of {x, y, z}), already parsed (dicts).

Rules: round-robin over the 14 operator groups of event-ruler's CityLots2 benchmark
(tests/data/conformance/event_ruler_citylots2_benchmark_rules.json): exact, wildcard, prefix,
prefix/suffix/equals ignoring case, suffix, numeric on array fields and on plain fields, and
the five anything-but forms, with values drawn from the generated events (one in seven rules
tests an array of 6-12 coordinates). Each anything-but rule also names one block (BLOCK_NUM):
alone, anything-but matches nearly every event, and then any matcher's cost is the size of its
answer. The "matches/ev" column shows how many rules an event matches on average. The
published rules themselves (71, mostly broad) are measured too, as one more line.

Each size: build a RuleSet, check it against the reference matcher on a sample, then time
``match`` over the events (median of --runs runs, one core, GC on). moto's
``EventPattern.matches_event`` is timed on the same events one rule at a time (as moto and
LocalStack evaluate rules), on as many events as fit in --moto-seconds per run.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from raybus.rules import RuleSet, compile_pattern
from raybus.rules.reference import reference_matches

RULES_FILE = (
    Path(__file__).resolve().parent.parent
    / "tests"
    / "data"
    / "conformance"
    / "event_ruler_citylots2_benchmark_rules.json"
)

STREETS = [
    "FULTON", "MASON", "JEFFERSON", "BEACH", "HYDE", "CHESTNUT", "MISSION", "MARKET", "VALENCIA",
    "GUERRERO", "DOLORES", "CHURCH", "SANCHEZ", "NOE", "CASTRO", "DIAMOND", "DOUGLASS", "HOFFMAN",
    "GRAND VIEW", "CLIPPER", "ALVARADO", "ELIZABETH", "JERSEY", "ALBION", "LAPIDGE", "FOLSOM",
    "HARRISON", "BRYANT", "FLORIDA", "ALABAMA", "HAMPSHIRE", "YORK", "POTRERO", "KANSAS",
    "RHODE ISLAND", "DE HARO", "CAROLINA", "WISCONSIN", "ARKANSAS", "CONNECTICUT", "MISSOURI",
    "TEXAS", "MINNESOTA", "INDIANA", "IOWA", "PENNSYLVANIA", "ILLINOIS", "TENNESSEE", "GEARY",
    "CLEMENT", "CALIFORNIA", "SACRAMENTO", "CLAY", "WASHINGTON", "JACKSON", "PACIFIC", "BROADWAY",
    "VALLEJO", "GREEN", "UNION", "FILBERT", "GREENWICH", "LOMBARD", "BAY", "NORTH POINT",
    "FRANCISCO", "LARKIN", "POLK", "VAN NESS", "FRANKLIN", "GOUGH", "OCTAVIA", "LAGUNA",
    "BUCHANAN", "WEBSTER", "FILLMORE", "STEINER", "PIERCE", "SCOTT", "DIVISADERO", "BRODERICK",
    "BAKER", "LYON", "CENTRAL", "MASONIC", "ASHBURY", "CLAYTON", "COLE", "SHRADER", "STANYAN",
    "ARGUELLO", "FUNSTON", "14TH", "15TH", "16TH", "17TH", "18TH", "19TH", "20TH", "21ST",
    "22ND", "23RD", "24TH", "25TH", "26TH", "ARMY", "CESAR CHAVEZ", "RANDALL", "DUNCAN",
    "VALLEY", "SAINT MARYS", "MONTEREY", "JUDSON", "OCEAN", "SLOAT", "TARAVAL", "ULLOA", "VICENTE",
    "WAWONA", "NORIEGA", "ORTEGA", "PACHECO", "QUINTARA", "RIVERA", "SANTIAGO", "KIRKHAM",
    "LAWTON", "MORAGA", "JUDAH", "IRVING", "HUGO", "LINCOLN", "FELL", "OAK", "PAGE", "HAIGHT",
    "WALLER", "HERMANN", "DUBOCE", "HAYES", "GROVE", "IVY", "LINDEN", "MCALLISTER", "GOLDEN GATE",
    "TURK", "EDDY", "ELLIS", "OFARRELL", "POST", "SUTTER", "BUSH", "PINE", "BEALE", "FREMONT",
    "FIRST", "SECOND", "THIRD", "FOURTH", "FIFTH", "SIXTH", "SEVENTH", "EIGHTH", "NINTH", "TENTH",
    "HOWARD", "TEHAMA", "CLEMENTINA", "NATOMA", "MINNA", "STEVENSON", "JESSIE", "BRANNAN",
    "TOWNSEND", "KING", "BERRY", "CHANNEL", "EMBARCADERO", "DRUMM", "DAVIS", "FRONT", "BATTERY",
    "SANSOME", "MONTGOMERY", "KEARNY", "GRANT", "STOCKTON", "POWELL", "TAYLOR", "JONES",
    "LEAVENWORTH", "UNKNOWN", "VICKSBURG", "ALVARADO", "GLEN PARK", "BOSWORTH", "DIAMOND HEIGHTS",
]  # fmt: skip
ST_TYPES = ["ST", "ST", "ST", "ST", "AVE", "AVE", "BLVD", "WAY", "TER", "CT", "PL", "LN", "DR"]


def make_events(count: int, seed: int) -> list[dict[str, Any]]:
    """CityLots2-shaped GeoJSON features (about 900 bytes of JSON each)."""
    rng = random.Random(seed)
    events = []
    for _ in range(count):
        suffix = rng.choice("ABCDEFGH") if rng.random() < 0.1 else ""
        block = f"{rng.randint(1, 7600):04d}{suffix}"
        lot = f"{rng.randint(1, 199):03d}"
        street = rng.choice(STREETS)
        from_st = rng.randint(0, 4000)
        x0 = round(-122.52 + rng.random() * 0.16, rng.choice([12, 13, 14, 15]))
        y0 = round(37.70 + rng.random() * 0.12, rng.choice([12, 13, 14, 15]))
        points = [
            {
                "x": round(x0 + rng.uniform(-3e-4, 3e-4), 14),
                "y": round(y0 + rng.uniform(-3e-4, 3e-4), 14),
                "z": 0.0,
            }
            for _ in range(rng.randint(6, 12))
        ]
        kind = "MultiPolygon" if rng.random() < 0.05 else "Polygon"
        coordinates = [points] if kind == "Polygon" else [points[:3], points[3:]]
        events.append(
            {
                "type": "Feature",
                "properties": {
                    "MAPBLKLOT": block + lot,
                    "BLKLOT": block + lot,
                    "BLOCK_NUM": block,
                    "LOT_NUM": lot,
                    "FROM_ST": str(from_st),
                    "TO_ST": str(from_st + rng.choice([0, 0, 2, 4, 10])),
                    "STREET": street,
                    "ST_TYPE": rng.choice(ST_TYPES) if rng.random() < 0.9 else None,
                    "ODD_EVEN": rng.choice("EO"),
                },
                "geometry": {
                    "type": kind,
                    "firstCoordinates": dict(points[0]),
                    "coordinates": coordinates,
                },
            }
        )
    return events


def _mixed_case(rng: random.Random, text: str) -> str:
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in text)


class _RuleMaker:
    """One rule per CityLots2 group, values drawn from the events (see the module docstring)."""

    def __init__(self, events: list[dict[str, Any]], seed: int) -> None:
        self.rng = random.Random(seed)
        self.lots = [e["properties"]["MAPBLKLOT"] for e in events]
        self.blocks = [e["properties"]["BLOCK_NUM"] for e in events]
        self.points = [p for e in events for ring in e["geometry"]["coordinates"] for p in ring]
        self.firsts = [e["geometry"]["firstCoordinates"] for e in events]
        self.groups = [
            self.exact, self.wildcard, self.prefix, self.prefix_ignore_case, self.suffix,
            self.suffix_ignore_case, self.equals_ignore_case, self.complex_arrays, self.numeric,
            self.anything_but, self.anything_but_ignore_case, self.anything_but_prefix,
            self.anything_but_suffix, self.anything_but_wildcard,
        ]  # fmt: skip

    def street(self) -> str:
        return self.rng.choice(STREETS)

    def mixed(self, text: str) -> str:
        return _mixed_case(self.rng, text)

    @staticmethod
    def prop(name: str, condition: Any) -> dict[str, Any]:
        return {"properties": {name: [condition]}}

    def anchored(self, name: str, condition: Any) -> dict[str, Any]:
        """Anything-but plus one block: alone it would match nearly every event."""
        return {"properties": {"BLOCK_NUM": [self.rng.choice(self.blocks)], name: [condition]}}

    def wildcard_value(self) -> str:
        lot = self.rng.choice(self.lots)
        return [
            lot[:4] + "*",
            f"{lot[0]}*{lot[2]}*{lot[4]}*{lot[-1]}",
            "*" + lot[-4:],
            f"{lot[:2]}*{lot[3]}*{lot[-2:]}",
            lot[:3] + "*" + lot[-2:],
        ][self.rng.randrange(5)]

    def narrow(self, value: float, width: float) -> dict[str, Any]:
        low = round(value - self.rng.random() * width, 6)
        return {"numeric": [">", low, "<", round(low + width, 6)]}

    def exact(self) -> dict[str, Any]:
        return {"properties": {"MAPBLKLOT": [self.rng.choice(self.lots)]}}

    def wildcard(self) -> dict[str, Any]:
        return self.prop("MAPBLKLOT", {"wildcard": self.wildcard_value()})

    def prefix(self) -> dict[str, Any]:
        return self.prop("STREET", {"prefix": self.street()[:3]})

    def prefix_ignore_case(self) -> dict[str, Any]:
        return self.prop(
            "STREET", {"prefix": {"equals-ignore-case": self.mixed(self.street()[:3])}}
        )

    def suffix(self) -> dict[str, Any]:
        return self.prop("STREET", {"suffix": self.street()[-4:]})

    def suffix_ignore_case(self) -> dict[str, Any]:
        condition = {"suffix": {"equals-ignore-case": self.mixed(self.street()[-4:])}}
        return self.prop("STREET", condition)

    def equals_ignore_case(self) -> dict[str, Any]:
        return self.prop("STREET", {"equals-ignore-case": self.mixed(self.street())})

    def complex_arrays(self) -> dict[str, Any]:
        x = self.rng.choice(self.points)["x"]
        condition = {"numeric": ["=", x]} if self.rng.random() < 0.5 else self.narrow(x, 2e-5)
        return {"geometry": {"type": ["Polygon"], "coordinates": {"x": [condition]}}}

    def numeric(self) -> dict[str, Any]:
        axis = "x" if self.rng.random() < 0.5 else "y"
        bound = self.narrow(self.rng.choice(self.firsts)[axis], 1e-4)
        return {"geometry": {"firstCoordinates": {axis: [bound]}}}

    def anything_but(self) -> dict[str, Any]:
        return self.anchored("STREET", {"anything-but": [self.street()]})

    def anything_but_ignore_case(self) -> dict[str, Any]:
        condition = {"anything-but": {"equals-ignore-case": [self.street().lower()]}}
        return self.anchored("STREET", condition)

    def anything_but_prefix(self) -> dict[str, Any]:
        return self.anchored("STREET", {"anything-but": {"prefix": self.street()[:3]}})

    def anything_but_suffix(self) -> dict[str, Any]:
        return self.anchored("STREET", {"anything-but": {"suffix": self.street()[-3:]}})

    def anything_but_wildcard(self) -> dict[str, Any]:
        return self.anchored("MAPBLKLOT", {"anything-but": {"wildcard": self.wildcard_value()}})


def make_rules(count: int, events: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """``count`` rules cycling through the 14 CityLots2 groups."""
    maker = _RuleMaker(events, seed)
    return [maker.groups[i % len(maker.groups)]() for i in range(count)]


def published_rules() -> list[dict[str, Any]]:
    data = json.loads(RULES_FILE.read_text())
    return [rule for group in data["groups"] for rule in group["rules"]]


def time_pass(ruleset: RuleSet, events: list[dict[str, Any]]) -> tuple[float, int]:
    """Events/s of one pass over the events, and the total number of matches."""
    match = ruleset.match
    matches = 0
    start = time.perf_counter()
    for event in events:
        matches += len(match(event))
    return len(events) / (time.perf_counter() - start), matches


def time_moto(rules: list[dict[str, Any]], events: list[dict[str, Any]], runs: int,
              budget_s: float) -> float:  # fmt: skip
    from moto.events.models import EventPattern

    patterns = [EventPattern(json.dumps(r), r) for r in rules]
    rates = []
    for _ in range(runs):
        done = 0
        start = time.perf_counter()
        while done < len(events):
            event = events[done]
            for pattern in patterns:
                pattern.matches_event(event)
            done += 1
            if time.perf_counter() - start > budget_s:
                break
        rates.append(done / (time.perf_counter() - start))
    return statistics.median(rates)


def check_against_reference(rules: list[dict[str, Any]], ruleset: RuleSet,
                            events: list[dict[str, Any]]) -> None:  # fmt: skip
    compiled = [compile_pattern(r) for r in rules]
    for event in events:
        expected = {i for i, c in enumerate(compiled) if reference_matches(c.branches, event)}
        got = ruleset.match(event)
        if got != expected:
            raise SystemExit(f"compiled matcher disagrees with the reference on {event}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000, 10000])
    parser.add_argument("--events", type=int, default=10000, help="events timed per run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--moto-runs", type=int, default=3)
    parser.add_argument("--moto-seconds", type=float, default=1.0, help="time budget per moto run")
    parser.add_argument("--no-moto", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    events = make_events(args.events, args.seed)
    size = sum(len(json.dumps(e)) for e in events[:1000]) / min(1000, len(events))
    print(f"python {platform.python_version()} on {platform.machine()}, {len(events)} events "
          f"(mean {size:.0f} bytes of JSON), median of {args.runs} interleaved runs")  # fmt: skip
    sets: list[tuple[str, list[dict[str, Any]]]] = [
        (str(n), make_rules(n, events, args.seed + n)) for n in args.sizes
    ]
    published = published_rules()
    sets.append((f"pub {len(published)}", published))
    built: list[tuple[str, list[dict[str, Any]], RuleSet, float]] = []
    for label, rules in sets:
        start = time.perf_counter()
        ruleset = RuleSet()
        for i, rule in enumerate(rules):
            ruleset.add(i, rule)
        ruleset.match(events[0])  # builds the indexes
        build = time.perf_counter() - start
        check_against_reference(rules, ruleset, events[:: max(1, len(events) // 50)][:50])
        built.append((label, rules, ruleset, build))
    # Interleave the sizes within each run so that load from other processes hits all alike.
    rates: dict[str, list[float]] = {label: [] for label, *_ in built}
    matches: dict[str, int] = {}
    for _ in range(args.runs):
        for label, _rules, ruleset, _build in built:
            rate, matches[label] = time_pass(ruleset, events)
            rates[label].append(rate)

    header = f"{'rules':>7} {'build s':>8} {'matches/ev':>10} {'raybus ev/s':>12}"
    if not args.no_moto:
        header += f" {'moto ev/s':>10} {'ratio':>8}"
    print(header)
    baseline = statistics.median(rates[built[0][0]])
    for label, rules, _ruleset, build in built:
        rate = statistics.median(rates[label])
        line = f"{label:>7} {build:8.2f} {matches[label] / len(events):10.2f} {rate:12,.0f}"
        if not args.no_moto:
            moto = time_moto(rules, events, args.moto_runs, args.moto_seconds)
            line += f" {moto:10,.1f} {rate / moto:7,.0f}x"
        print(line, flush=True)
    print(f"largest/smallest size: {statistics.median(rates[built[-2][0]]) / baseline:.2f} "
          "of the smallest size's rate")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
