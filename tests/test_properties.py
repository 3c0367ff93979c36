"""Properties of the parameter parser, in-process, for a task with every supported annotation.

Whatever the argv or documents, `params.parse` returns keyword arguments of the annotated types
or raises a `TaskError` (usage, 64, for everything it parses itself); typed values written
out as a user would write them parse back to themselves; a secret's bad value is never echoed.
The commands' argument parsing is covered through subprocesses in test_properties_commands.py.
"""

from __future__ import annotations

import contextlib
import enum
import json
import math
import os
import tempfile
from typing import Annotated, Any, Literal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime import Secret, documents, uris
from runtime.errors import InputError, TaskError, UsageError
from runtime.params import Param, params_of, parse
from runtime.params.placeholders import is_unresolved

# CI runs a bounded number of examples; HYPOTHESIS_PROFILE=thorough searches much longer.
settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", settings.get_profile("ci"), max_examples=5000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


class Shade(enum.Enum):
    LIGHT = "light"
    DARK = "dark"


def every_type(
    name: str,
    count: int,
    ratio: float = 0.5,
    flag: bool = False,
    tags: list[str] | None = None,
    sizes: list[int] | None = None,
    weights: list[float] | None = None,
    options: dict | None = None,
    mode: Literal["fast", "slow"] = "fast",
    shade: Shade = Shade.LIGHT,
    limit: int | None = None,
    anything: Any = None,
    token: Annotated[str, Secret] = "",
    pin: Annotated[int, Secret] | None = None,
) -> None:
    """A task signature with every annotation the parser supports."""


PARAMS = params_of(every_type)
BY_NAME = {p.name: p for p in PARAMS}
FLAGS = [p.flag for p in PARAMS] + ["--params", "--manifest", "--nme", "--"]

text = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
raw_value = st.one_of(
    text,
    st.sampled_from(["true", "no", "1", "-1", "1e999", "nan", "[", "[1, 2]", '["a"]', "{}", ""]),
    st.sampled_from(["Ref::name", "Ref::", "light", "DARK", "fast", "@missing.json", "s3://"]),
    json_values.map(json.dumps),
)
flag_with_value = st.builds(lambda f, v: f"{f}={v}", st.sampled_from(FLAGS), raw_value)
tokens = st.lists(st.one_of(st.sampled_from(FLAGS), raw_value, flag_with_value), max_size=6)
# What a user would write for each type, hostile values included (nan, inf, 5,000 digits).
VALUE_TEXT = {
    str: text,
    int: st.one_of(st.integers().map(str), st.just("9" * 5000)),
    float: st.floats().map(repr),
    bool: st.sampled_from(["true", "False", "yes", "0", "maybe"]),
    dict: json_values.map(json.dumps),
    Shade: st.sampled_from(["light", "DARK", "Dim"]),
}


def value_text(param: Param) -> st.SearchStrategy[str]:
    if param.is_list:
        return st.one_of(st.lists(json_values, max_size=3).map(json.dumps), text)
    return VALUE_TEXT.get(param.type, st.sampled_from(["fast", "SLOW", "medium"]))


@st.composite
def argv(draw: st.DrawFn) -> list[str]:
    """Flags of the task's parameters with plausible or hostile values, then random tokens."""
    args = ["--name", "n", "--count", "1"] if draw(st.booleans()) else []
    chosen = draw(st.lists(st.sampled_from(PARAMS), max_size=6, unique=True))
    for param in chosen:
        if args and param.name in ("name", "count"):
            continue
        flag = draw(st.sampled_from([param.flag, "--" + param.name]))
        value = draw(st.one_of(value_text(param), value_text(param), raw_value))
        args += draw(st.sampled_from([[flag, value], [f"{flag}={value}"]]))
    return args + draw(st.one_of(st.just([]), st.just([]), tokens))


document_texts = st.one_of(json_values.map(json.dumps), text, st.just("[" * 5000))


def reader(document: str) -> Any:
    return lambda _uri, _what: document


def check_types(param: Param, value: Any) -> None:
    """A parsed value is of the annotated type (None only for optional parameters)."""
    if value is None:
        assert param.optional or param.default is None, param
        return
    tp = param.type
    if tp is bool:
        assert isinstance(value, bool)
    elif tp is int:
        assert isinstance(value, int) and not isinstance(value, bool)
    elif tp is float:
        assert isinstance(value, float) and math.isfinite(value)
    elif tp is str:
        assert isinstance(value, str)
    elif tp is dict:
        assert isinstance(value, dict)
    elif param.is_list:
        assert isinstance(value, list)
        (item,) = tp.__args__
        for v in value:
            check_types(Param("item", item), v)
    elif tp is Shade:
        assert isinstance(value, Shade)
    elif param.name == "mode":
        assert value in ("fast", "slow")
    json.dumps(value if not isinstance(value, Shade) else value.value).encode()


@given(args=argv(), document=document_texts, index=st.none() | st.integers(-2, 3))
def test_any_argv_parses_to_typed_values_or_a_task_error(
    args: list[str], document: str, index: int | None
) -> None:
    try:
        kwargs = parse(PARAMS, args, array_index=index, read_text=reader(document))
    except TaskError:
        return
    assert set(kwargs) <= set(BY_NAME)
    for name, value in kwargs.items():
        check_types(BY_NAME[name], value)
    for param in PARAMS:
        assert param.name in kwargs or not param.required


finite = st.floats(allow_nan=False, allow_infinity=False)
plain = text.filter(lambda s: not is_unresolved(s))
typed_values = st.fixed_dictionaries(
    {"name": plain, "count": st.integers()},
    optional={
        "ratio": finite,
        "flag": st.booleans(),
        "tags": st.lists(plain, max_size=3),
        "sizes": st.lists(st.integers(), max_size=3),
        "weights": st.lists(finite, max_size=3),
        "options": st.dictionaries(text, json_values, max_size=3),
        "mode": st.sampled_from(["fast", "slow"]),
        "shade": st.sampled_from(Shade),
        "limit": st.integers(),
        "token": plain,
        "pin": st.integers(),
    },
)


def as_text(value: Any) -> str:
    """A value as a user or a job definition writes it on the command line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)
    if isinstance(value, Shade):
        return value.value
    return repr(value) if isinstance(value, float) else str(value)


def as_json(value: Any) -> Any:
    return value.value if isinstance(value, Shade) else value


@given(values=typed_values)
def test_typed_values_written_as_flags_parse_back(values: dict[str, Any]) -> None:
    args = [f"{BY_NAME[k].flag}={as_text(v)}" for k, v in values.items()]
    assert parse(PARAMS, args) == values


@given(values=typed_values, split=st.integers(0, 12))
def test_typed_values_from_params_and_manifest_parse_back(
    values: dict[str, Any], split: int
) -> None:
    """Whatever part comes from `--params` and whatever from the manifest item."""
    items = list(values.items())
    document = json.dumps({k: as_json(v) for k, v in items[:split]})
    item = json.dumps([{k: as_json(v) for k, v in items[split:]}])
    got = parse(
        PARAMS,
        ["--params", document, "--manifest", "m.json"],
        array_index=0,
        read_text=reader(item),
    )
    assert got == values


@given(secret=text.map(lambda s: f"s3cr3t-{s}x"))
def test_a_bad_secret_value_is_never_echoed(secret: str) -> None:
    for args in (["--pin", secret], ["--params", json.dumps({"pin": secret})]):
        try:
            parse(PARAMS, ["--name", "n", "--count", "1", *args])
        except UsageError as exc:
            assert secret not in str(exc)
            assert "--pin: expected an integer, got ***" in str(exc)
        else:
            raise AssertionError("a secret that is not an integer must be refused")


@given(content=st.one_of(st.binary(max_size=200), text.map(str.encode)))
def test_any_bytes_are_text_or_a_bad_input_error(content: bytes) -> None:
    """The bounded reader: UTF-8 without NUL is returned as it is, anything else is 65."""
    with tempfile.NamedTemporaryFile() as file:
        file.write(content)
        file.flush()
        try:
            got = documents.read_text(file.name, "--params")
        except InputError as exc:
            assert "--params" in str(exc)
            return
    assert got == content.decode("utf-8-sig") and "\x00" not in got


hosts = st.sampled_from(["127.0.0.1", "[::1]", "localhost", "169.254.169.254", "", "[::1"])
uri_like = st.one_of(
    st.builds("{}{}".format, st.sampled_from(["s3://", "file://", "/", "", "./"]), text),
    st.builds("http://{}{}/{}".format, hosts, st.sampled_from(["", ":0", ":99999", ":x"]), text),
    text.filter(lambda s: not s.lower().startswith(("http:", "https:"))),
)


@given(uri=uri_like)
def test_any_uri_is_allowed_or_a_task_error(uri: str) -> None:
    """No host outside this machine is looked up: hosts are IP literals or localhost."""
    with contextlib.suppress(TaskError):
        uris.check(uri)
