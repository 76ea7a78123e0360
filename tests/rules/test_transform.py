"""Target input shaping (Input, InputPath, InputTransformer) as EventBridge delivers it.

Expected outputs come from AWS's documentation (user guide "Amazon EventBridge input
transformation", the InputTransformer API reference, the input-transformer tutorial) and from
AWS-recorded responses (LocalStack's ``test_events_inputs.snapshot.json``); the rest pin the
choices documented in ``raybus.rules.transform``.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from raybus.core.errors import RaybusError
from raybus.rules.errors import PatternError
from raybus.rules.transform import (
    MAX_INPUT_LENGTH,
    MAX_PATH_LENGTH,
    MAX_PATHS_MAP_ENTRIES,
    MAX_TEMPLATE_LENGTH,
    CompiledInput,
    InputShape,
    compile_input,
)

RULE_ARN = "arn:aws:events:us-east-2:123456789012:rule/example"
RULE_NAME = "example"
INGESTED = "2015-11-11T21:29:55Z"

# The user guide's example EC2 event.
EC2_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2015-11-11T21:29:54Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {"instance-id": "i-0123456789", "state": "RUNNING"},
}
# The user guide's Input Path (InputPathsMap).
GUIDE_PATHS = {
    "timestamp": "$.time",
    "instance": "$.detail.instance-id",
    "state": "$.detail.state",
    "resource": "$.resources[0]",
}


def render(compiled: CompiledInput, event: Any) -> str:
    return compiled.render(event, rule_arn=RULE_ARN, rule_name=RULE_NAME, ingestion_time=INGESTED)


def transform(template: str, paths: dict[str, str] | None = None, event: Any = None) -> str:
    compiled = compile_input(InputShape(paths_map=paths, template=template))
    return render(compiled, EC2_EVENT if event is None else event)


def invalid(shape: InputShape, **kwargs: Any) -> str:
    with pytest.raises(PatternError) as info:
        compile_input(shape, **kwargs)
    assert info.value.code == "ValidationException"
    return info.value.message


# -- the user guide's input transform examples ------------------------------------------------


@pytest.mark.parametrize(
    ("template", "output"),
    [
        ('"instance <instance> is in <state>"', '"instance i-0123456789 is in RUNNING"'),
        (
            '"instance \\"<instance>\\" is in <state>"',
            '"instance \\"i-0123456789\\" is in RUNNING"',
        ),
        (
            '{\n  "instance" : <instance>,\n  "state": <state>\n}',
            '{\n  "instance" : "i-0123456789",\n  "state": "RUNNING"\n}',
        ),
        (
            '{\n "instance" : <instance>,\n "state": "<state>",\n'
            ' "instanceStatus": "instance \\"<instance>\\" is in <state>"\n}',
            '{\n "instance" : "i-0123456789",\n "state": "RUNNING",\n'
            ' "instanceStatus": "instance \\"i-0123456789\\" is in RUNNING"\n}',
        ),
        ('"<aws.events.rule-name> triggered"', '"example triggered"'),
    ],
    ids=["simple string", "escaped quotes", "simple JSON", "strings and variables", "reserved"],
)
def test_user_guide_examples(template: str, output: str) -> None:
    assert transform(template, GUIDE_PATHS) == output


def test_user_guide_mix_of_variables_and_static_information() -> None:
    template = (
        '{\n  "instance" : <instance>,\n  "state": [ 9, <state>, true ],\n'
        '  "Transformed" : "Yes"\n}'
    )
    out = transform(template, GUIDE_PATHS)
    # The template's own layout is kept; the guide shows the same JSON pretty-printed.
    assert out == (
        '{\n  "instance" : "i-0123456789",\n  "state": [ 9, "RUNNING", true ],\n'
        '  "Transformed" : "Yes"\n}'
    )
    assert json.loads(out) == {
        "instance": "i-0123456789",
        "state": [9, "RUNNING", True],
        "Transformed": "Yes",
    }


def test_user_guide_reserved_variables_in_json() -> None:
    template = (
        '{\n  "instance" : <instance>,\n  "state": <state>,\n  "ruleArn" : <aws.events.rule-arn>,'
        '\n  "ruleName" : <aws.events.rule-name>,\n  "originalEvent" : <aws.events.event>\n}'
    )
    out = json.loads(transform(template, GUIDE_PATHS))
    assert out["instance"] == "i-0123456789"
    assert out["state"] == "RUNNING"
    assert out["ruleArn"] == RULE_ARN
    assert out["ruleName"] == "example"
    original = out["originalEvent"]
    assert "detail" not in original
    assert original["detailType"] == EC2_EVENT["detail-type"]
    assert original["id"] == EC2_EVENT["id"]
    assert original["resources"] == EC2_EVENT["resources"]


def test_user_guide_array_index_variable() -> None:
    assert transform('"<resource>"', GUIDE_PATHS) == f'"{EC2_EVENT["resources"][0]}"'


# -- the API reference's and the tutorial's examples ------------------------------------------

API_PATHS = {"instance": "$.detail.instance", "status": "$.detail.status"}
API_EVENT = {"detail": {"instance": "i-1234", "status": "stopped"}}


def test_api_reference_plain_text_template() -> None:
    assert transform("<instance> is in state <status>", API_PATHS, API_EVENT) == (
        "i-1234 is in state stopped"
    )


def test_api_reference_quotes_inside_text_template() -> None:
    assert transform('<instance> is in state "<status>"', API_PATHS, API_EVENT) == (
        'i-1234 is in state "stopped"'
    )


def test_api_reference_json_with_variables_in_and_out_of_quotes() -> None:
    template = '{"myInstance": <instance>,"myStatus": "<instance> is in state \\"<status>\\""}'
    out = transform(template, API_PATHS, API_EVENT)
    assert out == '{"myInstance": "i-1234","myStatus": "i-1234 is in state \\"stopped\\""}'
    assert json.loads(out)["myStatus"] == 'i-1234 is in state "stopped"'


def test_tutorial_example() -> None:
    out = transform(
        '"This event was of <detail-type> type."',
        {"detail-type": "$.detail-type"},
        {"detail-type": "customerCreated"},
    )
    assert out == '"This event was of customerCreated type."'


# -- AWS-recorded outputs ---------------------------------------------------------------------

RECORDED_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "e2d3b5c6-0000-4000-8000-000000000001",
    "detail-type": "core.update-account-command",
    "source": "core.update-account-command",
    "account": "111111111111",
    "time": "2024-05-13T12:27:20Z",
    "region": "us-east-1",
    "resources": [],
    "detail": {"command": "update-account", "payload": {"acc_id": "0a787ecb-4015", "sf_id": "baz"}},
}
RECORDED_PATHS = {
    "detail-type": "$.detail-type",
    "timestamp": "$.time",
    "command": "$.detail.command",
}
MISSING_PATHS = {**RECORDED_PATHS, "command": "$.detail.notinmessage"}


def test_recorded_string_template_with_and_without_the_value() -> None:
    template = (
        '"Event of <detail-type> type, at time <timestamp>, info extracted from detail <command>"'
    )
    prefix = '"Event of core.update-account-command type, at time 2024-05-13T12:27:20Z, '
    assert transform(template, RECORDED_PATHS, RECORDED_EVENT) == (
        prefix + 'info extracted from detail update-account"'
    )
    assert transform(template, MISSING_PATHS, RECORDED_EVENT) == (
        prefix + 'info extracted from detail "'
    )


def test_recorded_json_template_missing_value_is_empty_string() -> None:
    template = '{"detailType": <detail-type>,  "time": <timestamp>, "command": <command>}'
    assert json.loads(transform(template, RECORDED_PATHS, RECORDED_EVENT)) == {
        "detailType": "core.update-account-command",
        "time": "2024-05-13T12:27:20Z",
        "command": "update-account",
    }
    out = transform(template, MISSING_PATHS, RECORDED_EVENT)
    assert out == (
        '{"detailType": "core.update-account-command",  "time": "2024-05-13T12:27:20Z", '
        '"command": ""}'
    )


def test_recorded_special_starting_characters() -> None:
    template = '"{[/Check with special starting characters for event of <detail-type> type"'
    assert transform(template, RECORDED_PATHS, RECORDED_EVENT) == (
        '"{[/Check with special starting characters for event of core.update-account-command type"'
    )


def test_recorded_predefined_variables_in_a_string() -> None:
    template = (
        '"Message containing all pre defined variables <aws.events.rule-arn> '
        '<aws.events.rule-name> <aws.events.event.ingestion-time>"'
    )
    assert transform(template, None, RECORDED_EVENT) == (
        f'"Message containing all pre defined variables {RULE_ARN} {RULE_NAME} {INGESTED}"'
    )


def test_recorded_event_and_event_json_objects() -> None:
    template = '{"originalEvent": <aws.events.event>, "originalEventJson": <aws.events.event.json>}'
    out = json.loads(transform(template, None, RECORDED_EVENT))
    assert out["originalEventJson"] == RECORDED_EVENT
    assert out["originalEvent"] == {
        "id": RECORDED_EVENT["id"],
        "account": "111111111111",
        "detailType": "core.update-account-command",
        "time": "2024-05-13T12:27:20Z",
        "source": "core.update-account-command",
        "region": "us-east-1",
        "resources": [],
        "version": "0",
    }
    assert list(out["originalEvent"]) == [
        "id",
        "account",
        "detailType",
        "time",
        "source",
        "region",
        "resources",
        "version",
    ]


@pytest.mark.parametrize(
    ("path", "output"),
    [
        (
            "$.detail",
            '{"command":"update-account","payload":{"acc_id":"0a787ecb-4015","sf_id":"baz"}}',
        ),
        ("$.detail.payload", '{"acc_id":"0a787ecb-4015","sf_id":"baz"}'),
        ("$.detail.payload.sf_id", '"baz"'),
    ],
)
def test_recorded_input_path(path: str, output: str) -> None:
    assert render(compile_input(InputShape(input_path=path)), RECORDED_EVENT) == output


# -- whole event, Input, InputPath ------------------------------------------------------------


def test_no_shaping_sends_the_event_as_compact_json() -> None:
    out = render(compile_input(InputShape()), EC2_EVENT)
    assert out == json.dumps(EC2_EVENT, separators=(",", ":"))
    assert " " not in out.replace("EC2 Instance State-change Notification", "")


def test_no_shaping_keeps_non_ascii_text() -> None:
    event = {"detail": {"name": "café ☕ 𝄞"}}
    assert render(compile_input(InputShape()), event) == '{"detail":{"name":"café ☕ 𝄞"}}'


def test_input_is_sent_exactly_as_given() -> None:
    text = '{ "a" : [1, 2],\n "b": "x" }'
    assert render(compile_input(InputShape(input=text)), EC2_EVENT) == text
    assert render(compile_input(InputShape(input='"just a string"')), {}) == '"just a string"'


def test_input_path_root_is_the_whole_event() -> None:
    out = render(compile_input(InputShape(input_path="$")), EC2_EVENT)
    assert json.loads(out) == EC2_EVENT


@pytest.mark.parametrize(
    ("path", "output"),
    [
        ("$.resources[0]", '"arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"'),
        ("$['detail']['state']", '"RUNNING"'),
        ('$["detail"].instance-id', '"i-0123456789"'),
        ("$.detail.*", '["i-0123456789","RUNNING"]'),
        ("$.resources[*]", '["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"]'),
    ],
)
def test_input_path_forms(path: str, output: str) -> None:
    assert render(compile_input(InputShape(input_path=path)), EC2_EVENT) == output


@pytest.mark.parametrize(
    "path", ["$.detail.nope", "$.resources[1]", "$.detail.state.deeper", "$.x[0]"]
)
def test_input_path_selecting_nothing_sends_null(path: str) -> None:
    assert render(compile_input(InputShape(input_path=path)), EC2_EVENT) == "null"


def test_wildcard_over_nothing_is_an_empty_array() -> None:
    assert render(compile_input(InputShape(input_path="$.nope[*].id")), EC2_EVENT) == "[]"


def test_wildcard_collects_from_array_elements() -> None:
    event = {"detail": {"items": [{"id": 1}, {"id": "two"}, {"other": 3}]}}
    compiled = compile_input(InputShape(input_path="$.detail.items[*].id"))
    assert render(compiled, event) == '[1,"two"]'


def test_decimal_numbers_render_as_numbers() -> None:
    event = {"detail": {"price": Decimal("12.50"), "big": Decimal("1E+30"), "n": 3}}
    assert render(compile_input(InputShape(input_path="$.detail")), event) == (
        '{"price":12.50,"big":1E+30,"n":3}'
    )
    assert transform('{"p": <p>}', {"p": "$.detail.price"}, event) == '{"p": 12.50}'


# -- quoting: values inside and outside quotes ------------------------------------------------

TYPED_EVENT: dict[str, Any] = {
    "detail": {
        "s": "text",
        "n": 42,
        "f": 1.5,
        "t": True,
        "z": None,
        "o": {"a": "x", "b": [1, "y"]},
        "l": ["a", 2, False],
        "e": [],
    }
}
TYPED_PATHS = {k: f"$.detail.{k}" for k in TYPED_EVENT["detail"]} | {"m": "$.detail.missing"}


@pytest.mark.parametrize(
    ("name", "value_slot", "string_slot"),
    [
        ("s", '"text"', "text"),
        ("n", "42", "42"),
        ("f", "1.5", "1.5"),
        ("t", "true", "true"),
        ("z", "null", "null"),
        ("o", '{"a":"x","b":[1,"y"]}', "{a:x,b:[1,y]}"),
        ("l", '["a",2,false]', "[a,2,false]"),
        ("e", "[]", "[]"),
        ("m", '""', ""),
    ],
)
def test_value_inserted_by_position(name: str, value_slot: str, string_slot: str) -> None:
    out = transform(f'{{"v": <{name}>, "s": "[<{name}>]"}}', TYPED_PATHS, TYPED_EVENT)
    assert out == f'{{"v": {value_slot}, "s": "[{string_slot}]"}}'
    json.loads(out)  # always valid JSON
    # Plain text templates take the inside-a-string form.
    assert transform(f"v=<{name}>;", TYPED_PATHS, TYPED_EVENT) == f"v={string_slot};"


def test_lone_placeholder_is_a_json_value() -> None:
    assert transform("<o>", TYPED_PATHS, TYPED_EVENT) == '{"a":"x","b":[1,"y"]}'
    assert transform("<s>", TYPED_PATHS, TYPED_EVENT) == '"text"'
    assert transform("  <n>  ", TYPED_PATHS, TYPED_EVENT) == "  42  "


def test_array_template_values() -> None:
    out = transform("[<s>, <n>, <l>, <m>]", TYPED_PATHS, TYPED_EVENT)
    assert out == '["text", 42, ["a",2,false], ""]'


def test_object_inside_a_string_template_loses_inner_quotes() -> None:
    out = transform('"Detail is <detail>"', {"detail": "$.detail"})
    assert out == '"Detail is {instance-id:i-0123456789,state:RUNNING}"'


def test_same_variable_used_many_times() -> None:
    out = transform('{"a": <s>, "b": "<s>/<s>", "c": [<s>]}', TYPED_PATHS, TYPED_EVENT)
    assert out == '{"a": "text", "b": "text/text", "c": ["text"]}'


@pytest.mark.parametrize(
    "value",
    [
        'say "hi"',
        "back\\slash",
        "line\nbreak\ttab",
        "bell\x07",
        "café ☕ 𝄞",
        "</script>",
        "\u2028",
    ],
)
def test_string_values_are_escaped_inside_quotes(value: str) -> None:
    event = {"detail": {"v": value}}
    paths = {"v": "$.detail.v"}
    out = transform('{"in": "<v>!", "out": <v>}', paths, event)
    assert json.loads(out) == {"in": value + "!", "out": value}
    assert transform('"<v>"', paths, event) == json.dumps(value, ensure_ascii=False)


def test_non_ascii_is_not_escaped() -> None:
    out = transform('{"v": <v>, "w": "<v>"}', {"v": "$.v"}, {"v": "naïve ☕"})
    assert out == '{"v": "naïve ☕", "w": "naïve ☕"}'


def test_object_with_quotes_inside_a_string_stays_valid_json() -> None:
    event = {"detail": {"o": {"q": 'a"b', "p": "c\\d"}}}
    out = transform('{"s": "<o>"}', {"o": "$.detail.o"}, event)
    assert json.loads(out) == {"s": '{q:a"b,p:c\\d}'}


def test_text_template_values_are_not_escaped() -> None:
    event = {"v": 'he said "hi"\\'}
    assert transform("Message: <v>", {"v": "$.v"}, event) == 'Message: he said "hi"\\'


def test_reserved_string_variables_by_position() -> None:
    out = transform('{"arn": <aws.events.rule-arn>, "t": "at <aws.events.event.ingestion-time>"}')
    assert out == f'{{"arn": "{RULE_ARN}", "t": "at {INGESTED}"}}'
    assert transform("rule <aws.events.rule-name>") == "rule example"


def test_reserved_variables_take_the_render_arguments() -> None:
    compiled = compile_input(InputShape(template='"<aws.events.rule-name>@<aws.events.rule-arn>"'))
    out = compiled.render(EC2_EVENT, rule_arn="arn:x", rule_name="r1", ingestion_time="t")
    assert out == '"r1@arn:x"'


def test_event_json_in_text_template_is_raw_json() -> None:
    out = transform("Event: <aws.events.event.json>")
    assert out == "Event: " + json.dumps(EC2_EVENT, separators=(",", ":"))


def test_event_json_inside_quotes_is_escaped_json_text() -> None:
    out = json.loads(transform('{"raw": "<aws.events.event.json>"}'))
    assert json.loads(out["raw"]) == EC2_EVENT


def test_event_without_detail_keeps_extra_fields() -> None:
    event = {**EC2_EVENT, "replay-name": "r"}
    out = json.loads(transform("<aws.events.event>", None, event))
    assert out["replay-name"] == "r"
    assert "detail" not in out
    assert "detail-type" not in out


def test_angle_brackets_that_are_not_placeholders() -> None:
    assert transform("a <> b", None) == "a <> b"
    assert transform('"1 < 2 and <s>"', TYPED_PATHS, TYPED_EVENT) == '"1 < 2 and text"'


def test_compiled_input_is_reusable_across_events() -> None:
    compiled = compile_input(InputShape(paths_map={"v": "$.v"}, template='{"v": <v>}'))
    assert render(compiled, {"v": 1}) == '{"v": 1}'
    assert render(compiled, {"v": [True]}) == '{"v": [true]}'
    assert render(compiled, {}) == '{"v": ""}'


def test_event_as_non_dict_mapping() -> None:
    from types import MappingProxyType

    event = MappingProxyType({"a": MappingProxyType({"b": 1})})
    assert render(compile_input(InputShape()), event) == '{"a":{"b":1}}'
    assert transform("<a>", {"a": "$.a"}, event) == '{"b":1}'


# -- validation -------------------------------------------------------------------------------

ONLY_ONE = "Only one of Input, InputPath, or InputTransformer must be provided for target t1."


@pytest.mark.parametrize(
    "shape",
    [
        InputShape(input="{}", input_path="$"),
        InputShape(input="{}", template="x"),
        InputShape(input_path="$", paths_map={"a": "$.a"}, template="<a>"),
        InputShape(input="{}", input_path="$", template="x"),
    ],
)
def test_forms_are_mutually_exclusive(shape: InputShape) -> None:
    assert invalid(shape, target_id="t1") == ONLY_ONE


def test_error_without_a_target_id() -> None:
    assert invalid(InputShape(input="{}", input_path="$")) == (
        "Only one of Input, InputPath, or InputTransformer must be provided."
    )


def test_errors_are_raybus_errors() -> None:
    with pytest.raises(RaybusError) as info:
        compile_input(InputShape(input="nope"))
    assert isinstance(info.value, ValueError)
    assert info.value.code == "ValidationException"


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("env:dev", 1, 1),
        ("{'env': 'dev'}", 1, 2),
        ('{"a": 1}\n x', 2, 2),
        ("", 1, 1),
        ("NaN", 1, 1),
    ],
)
def test_input_must_be_json(text: str, line: int, column: int) -> None:
    assert invalid(InputShape(input=text), target_id="t1") == (
        f'JSON syntax error in input for target t1: [Source: (String)"{text}"; '
        f"line: {line}, column: {column}]"
    )


def test_input_length_limit() -> None:
    ok = '"' + "x" * (MAX_INPUT_LENGTH - 2) + '"'
    assert render(compile_input(InputShape(input=ok)), {}) == ok
    message = invalid(InputShape(input=ok + " "))
    assert message.startswith("1 validation error detected: Value '\"xxx")
    assert message.endswith(
        "at 'targets.1.member.input' failed to satisfy constraint: "
        "Member must have length less than or equal to 8192"
    )


def test_input_path_length_limit() -> None:
    ok = "$." + "a" * (MAX_PATH_LENGTH - 2)
    compile_input(InputShape(input_path=ok))
    message = invalid(InputShape(input_path=ok + "b"), position=3)
    assert "at 'targets.3.member.inputPath' failed to satisfy constraint: " in message
    assert message.endswith("Member must have length less than or equal to 256")


@pytest.mark.parametrize(
    "path",
    [
        "detail",
        "",
        "$.",
        "$..detail",
        "$.detail[-1]",
        "$.detail[0:2]",
        "$.detail[?(@.a)]",
        "$.my key",
        "$detail",
        "$.a[b]",
        "$.a[",
    ],
)
def test_input_path_syntax(path: str) -> None:
    assert invalid(InputShape(input_path=path), target_id="t1") == (
        f"InputPath for target t1 is not a valid JSON path: {path}."
    )


def test_transformer_requires_a_template() -> None:
    assert invalid(InputShape(paths_map={"a": "$.a"})) == (
        "1 validation error detected: Value null at "
        "'targets.1.member.inputTransformer.inputTemplate' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_template_length_limits() -> None:
    assert invalid(InputShape(template="")) == (
        "1 validation error detected: Value '' at "
        "'targets.1.member.inputTransformer.inputTemplate' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1"
    )
    ok = '"' + "x" * (MAX_TEMPLATE_LENGTH - 2) + '"'
    assert render(compile_input(InputShape(template=ok)), {}) == ok
    message = invalid(InputShape(template=ok + " "))
    assert message.endswith("Member must have length less than or equal to 8192")
    assert "'targets.1.member.inputTransformer.inputTemplate'" in message


def test_paths_map_entry_limit() -> None:
    paths = {f"k{i}": "$.a" for i in range(MAX_PATHS_MAP_ENTRIES)}
    compile_input(InputShape(paths_map=paths, template="<k0>"))
    paths["k100"] = "$.a"
    message = invalid(InputShape(paths_map=paths, template="<k0>"))
    assert message.startswith("1 validation error detected: Value '{k0=$.a, k1=$.a")
    assert message.endswith(
        "at 'targets.1.member.inputTransformer.inputPathsMap' failed to satisfy constraint: "
        "Member must have length less than or equal to 100"
    )


@pytest.mark.parametrize(
    "key", ["aws.events.rule-arn", "aws.events.event", "a b", "a.b", "café", "x<y"]
)
def test_paths_map_key_pattern(key: str) -> None:
    assert invalid(InputShape(paths_map={key: "$.a"}, template="x")) == (
        f"1 validation error detected: Value '{{{key}=$.a}}' at "
        "'targets.1.member.inputTransformer.inputPathsMap' failed to satisfy constraint: "
        "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: "
        "[A-Za-z0-9\\_\\-]+]"
    )


def test_paths_map_key_length() -> None:
    ok = "k" * 256
    compile_input(InputShape(paths_map={ok: "$.a"}, template=f"<{ok}>"))
    message = invalid(InputShape(paths_map={ok + "k": "$.a"}, template="x"))
    assert message.endswith(
        "Map keys must satisfy constraint: [Member must have length less than or equal to 256]"
    )
    message = invalid(InputShape(paths_map={"": "$.a"}, template="x"))
    assert message.endswith(
        "Map keys must satisfy constraint: [Member must have length greater than or equal to 1, "
        "Member must satisfy regular expression pattern: [A-Za-z0-9\\_\\-]+]"
    )


def test_paths_map_value_length() -> None:
    message = invalid(InputShape(paths_map={"a": "$." + "a" * 255}, template="<a>"))
    assert message.endswith(
        "Map value must satisfy constraint: [Member must have length less than or equal to 256]"
    )


def test_several_violations_are_reported_together() -> None:
    message = invalid(InputShape(input="x" * 9000, input_path="$" * 300))
    assert message.startswith("2 validation errors detected: Value '")
    assert "'targets.1.member.input' failed" in message
    assert "; Value '" in message
    assert "'targets.1.member.inputPath' failed" in message


@pytest.mark.parametrize("path", ["detail.state", "$..state", "$.a[-1]", "", "$ .a"])
def test_paths_map_value_syntax(path: str) -> None:
    assert invalid(InputShape(paths_map={"v": path}, template="<v>"), target_id="t1") == (
        f"InputPathsMap for target t1 has an invalid JSON path for v: {path}."
    )


def test_unknown_placeholder_is_refused() -> None:
    shape = InputShape(
        paths_map=RECORDED_PATHS,
        template='"Event of <detail-type> type, with not defined key <notdefinedkey>"',
    )
    assert invalid(shape, target_id="target-1") == (
        "InputTemplate for target target-1 contains invalid placeholder notdefinedkey."
    )


@pytest.mark.parametrize(
    "template",
    ["<aws.events.rule>", "<aws.events.event.JSON>", "< instance >", "<$.detail.state>"],
)
def test_near_miss_placeholders_are_refused(template: str) -> None:
    message = invalid(InputShape(paths_map={"instance": "$.a"}, template=template))
    assert message == f"InputTemplate contains invalid placeholder {template[1:-1]}."


@pytest.mark.parametrize(
    "template",
    ['{"<k>": 1}', '{"a": 1, "x<k>y" : 2}', "{<k>: 1}", '[{"b": {"<k>": true}}]'],
)
def test_placeholder_cannot_be_an_object_key(template: str) -> None:
    assert invalid(InputShape(paths_map={"k": "$.k"}, template=template), target_id="t1") == (
        "InputTemplate for target t1 uses placeholder k as an object key; "
        "placeholders cannot be object keys."
    )


def test_placeholder_key_check_does_not_apply_to_text_templates() -> None:
    assert transform('Note "<k>": done', {"k": "$.k"}, {"k": "v"}) == 'Note "v": done'


@pytest.mark.parametrize(
    ("template", "line", "column"),
    [
        ('{"a": <a> "b"}', 1, 11),
        ('{"a": 1,}', 1, 9),
        ('{\n  "a": 1,\n  "b" 2}', 3, 7),
        ("{instance <a>}", 1, 2),
    ],
)
def test_object_template_must_be_json(template: str, line: int, column: int) -> None:
    assert invalid(InputShape(paths_map={"a": "$.a"}, template=template), target_id="t1") == (
        f'Invalid InputTemplate for target t1: [Source: (String)"{template}"; '
        f"line: {line}, column: {column}]"
    )


def test_non_object_templates_that_are_not_json_are_text() -> None:
    assert transform('[<a>, "x"', {"a": "$.a"}, {"a": "v"}) == '[v, "x"'
    assert transform('"unclosed <a>', {"a": "$.a"}, {"a": "v"}) == '"unclosed v'
