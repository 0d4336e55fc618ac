"""Property tests (hypothesis): the renderer and the two validators of user values.

- Any valid snapshot (example snapshots varied in their names, Open WebUI values of every type, models,
  exposure mode and routes) renders, renders byte-identically again, and passes ``validation.validate``.
- Marketplace values (``values_errors``) and the wizard's Open WebUI step (``clean_openwebui_value``): a value
  of the right type within the limits is accepted, anything else is refused with a message, and neither
  ever raises.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leger.marketplace.models import Variable
from leger.marketplace.values import values_errors
from leger.releases.models import OpenWebUIVariable
from leger.releases.rendering import render
from leger.releases.services import clean_openwebui_value
from leger.releases.snapshot import Snapshot, below_path_refusals, containers, example_snapshot, validate_snapshot
from leger.releases.validation import validate

RENDER_SETTINGS = settings(
    max_examples=50, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
VALUE_SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, database=None)

# Free text as users type it: any character a file can hold (no NUL, no lone surrogates; those are refused
# before rendering, see test_injection.py), line breaks, quotes, %, $, braces and RTL marks included.
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=60)
NAME = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=80
)
# Open WebUI variables the wizard offers that no example add-on sets, one per type of value.
FREE_VARIABLES = {
    "WEBUI_NAME": TEXT,
    "DEFAULT_LOCALE": TEXT,
    "RAG_TEMPLATE": TEXT,
    "RAG_TOP_K": st.integers(min_value=-(2**63), max_value=2**63),
    "CHUNK_SIZE": st.integers(min_value=0, max_value=100_000),
    "RAG_RELEVANCE_THRESHOLD": st.floats(allow_nan=False, allow_infinity=False),
    "ENABLE_CHANNELS": st.booleans(),
    "ENABLE_COMMUNITY_SHARING": st.booleans(),
}


@st.composite
def snapshots(draw: st.DrawFn) -> Snapshot:
    kind = draw(st.sampled_from(["minimal", "full"]))
    exposure = draw(st.sampled_from(["port", "path", "subdomain"]))
    snapshot = copy.deepcopy(_EXAMPLES[(kind, exposure)])
    snapshot["release"]["name"] = draw(NAME)
    snapshot["release"]["version"] = draw(st.integers(min_value=1, max_value=10_000))
    if snapshot["addons"]:
        # Add-ons: any subset, with any free text in their text variables.
        keep = draw(st.lists(st.booleans(), min_size=len(snapshot["addons"]), max_size=len(snapshot["addons"])))
        snapshot["addons"] = [addon for addon, kept in zip(snapshot["addons"], keep, strict=True) if kept]
        for addon in snapshot["addons"]:
            addon["name"] = draw(NAME)
            for variable, value in addon["variables"].items():
                if isinstance(value, str):
                    addon["variables"][variable] = draw(TEXT.filter(bool))
        kept_containers = {a["container"]["id"] for a in snapshot["addons"] if a["container"]}
        infrastructure = {s["id"] for s in snapshot["infrastructure"]}
        snapshot["routes"] = [r for r in snapshot["routes"] if r["service"] in kept_containers | infrastructure]
    # Models: any non-empty subset; the variables that name models name chosen ones.
    models = snapshot["models"]
    chosen = draw(st.lists(st.sampled_from(range(len(models))), min_size=1, max_size=len(models), unique=True))
    snapshot["models"] = [models[i] for i in sorted(chosen)]
    ids = [m["id"] for m in snapshot["models"]]
    openwebui: dict[str, Any] = {"DEFAULT_MODELS": draw(st.sampled_from(ids))}
    for variable in ("TASK_MODEL", "TASK_MODEL_EXTERNAL"):
        if draw(st.booleans()):
            openwebui[variable] = draw(st.sampled_from(ids))
    for variable, values in FREE_VARIABLES.items():
        if draw(st.booleans()):
            openwebui[variable] = draw(values)
    snapshot["openwebui"] = openwebui
    # Routes: exposed or not, each on its own published port.
    ports = draw(
        st.lists(
            st.integers(min_value=10_000, max_value=60_000),
            min_size=len(snapshot["routes"]),
            max_size=len(snapshot["routes"]),
            unique=True,
        )
    )
    services = {service["id"]: service for service in containers(snapshot)}
    for route, port in zip(snapshot["routes"], ports, strict=True):
        # What cannot live below a path is not exposed by path (the snapshot check refuses it).
        wanted = {**route, "exposed": True}
        route["exposed"] = draw(st.booleans()) and not below_path_refusals([wanted], services, exposure)
        route["port"] = port
        route["websocket"] = draw(st.booleans())
    return validate_snapshot(snapshot)


_EXAMPLES = {(k, e): example_snapshot(k, e) for k in ("minimal", "full") for e in ("port", "path", "subdomain")}


@RENDER_SETTINGS
@given(snapshot=snapshots())
def test_any_valid_snapshot_renders_identically_twice_and_passes_the_validator(snapshot: Snapshot) -> None:
    files = render(snapshot)
    assert render(copy.deepcopy(snapshot)) == files
    assert [str(problem) for problem in validate(files, snapshot)] == []
    for text in files.values():
        text.encode("utf-8")


# --- marketplace values -------------------------------------------------------------------------------------


def marketplace_variable(kind: str, **fields: Any) -> Variable:
    return Variable(name="SETTING", type=kind, **fields)


@st.composite
def limits(draw: st.DrawFn) -> tuple[float | None, float | None]:
    low = draw(st.none() | st.integers(min_value=-1000, max_value=1000))
    high = draw(st.none() | st.integers(min_value=-1000, max_value=1000))
    if low is not None and high is not None and low > high:
        low, high = high, low
    return low, high


ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=5,
)


def _in(number: float, low: float | None, high: float | None) -> bool:
    return (low is None or number >= low) and (high is None or number <= high)


@VALUE_SETTINGS
@given(bounds=limits(), value=ANY_JSON | st.integers(min_value=-2000, max_value=2000))
def test_a_marketplace_whole_number_is_accepted_exactly_when_it_is_one_within_the_limits(
    bounds: tuple[float | None, float | None], value: Any
) -> None:
    low, high = bounds
    errors = values_errors([marketplace_variable("int", minimum=low, maximum=high)], {"SETTING": value})
    valid = isinstance(value, int) and not isinstance(value, bool) and _in(value, low, high)
    if valid:
        assert errors == {}
    else:
        assert errors.get("SETTING") and all(isinstance(m, str) and m for m in errors["SETTING"])


@VALUE_SETTINGS
@given(bounds=limits(), value=ANY_JSON | st.floats(min_value=-2000, max_value=2000))
def test_a_marketplace_number_is_accepted_exactly_when_it_is_one_within_the_limits(
    bounds: tuple[float | None, float | None], value: Any
) -> None:
    low, high = bounds
    errors = values_errors([marketplace_variable("float", minimum=low, maximum=high)], {"SETTING": value})
    # Infinity is no value to store: PostgreSQL's jsonb refuses it (the wizard refuses it too, below).
    number = isinstance(value, int | float) and not isinstance(value, bool)
    valid = number and math.isfinite(value) and _in(value, low, high)
    if valid:
        assert errors == {}
    else:
        assert errors.get("SETTING")


@VALUE_SETTINGS
@given(value=ANY_JSON)
def test_a_marketplace_yes_or_no_is_accepted_only_as_a_boolean(value: Any) -> None:
    errors = values_errors([marketplace_variable("bool")], {"SETTING": value})
    assert (errors == {}) == isinstance(value, bool)
    if errors:
        assert errors["SETTING"]


@VALUE_SETTINGS
@given(options=st.lists(TEXT.filter(bool), min_size=1, max_size=5, unique=True), data=st.data())
def test_a_marketplace_choice_is_accepted_only_from_its_options(options: list[str], data: st.DataObject) -> None:
    value = data.draw(st.sampled_from(options) | ANY_JSON)
    errors = values_errors([marketplace_variable("enum", options=options)], {"SETTING": value})
    assert (errors == {}) == (isinstance(value, str) and value in options)


@VALUE_SETTINGS
@given(value=ANY_JSON | st.text(max_size=40) | st.just("lone \ud800") | st.just("nul\x00"))
def test_marketplace_text_is_accepted_when_it_is_storable_text(value: Any) -> None:
    errors = values_errors([marketplace_variable("string")], {"SETTING": value})
    storable = isinstance(value, str) and "\x00" not in value and not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    assert (errors == {}) == storable


@VALUE_SETTINGS
@given(host=st.from_regex(r"[a-z0-9.-]{1,20}", fullmatch=True), port=st.none() | st.integers(1, 65535), value=ANY_JSON)
def test_a_marketplace_url_is_accepted_only_as_an_http_address(host: str, port: int | None, value: Any) -> None:
    url = f"https://{host}" + (f":{port}" if port else "") + "/path"
    assert values_errors([marketplace_variable("url")], {"SETTING": url}) == {}
    errors = values_errors([marketplace_variable("url")], {"SETTING": value})
    if not (isinstance(value, str) and value.startswith(("http://", "https://"))):
        assert errors.get("SETTING")


@VALUE_SETTINGS
@given(values=st.dictionaries(TEXT, ANY_JSON, max_size=4))
def test_unknown_marketplace_settings_are_refused_by_name(values: dict[str, Any]) -> None:
    errors = values_errors([marketplace_variable("string")], values)
    for name in values:
        if name != "SETTING":
            assert errors.get(name), (name, errors)


# --- the wizard's Open WebUI step ------------------------------------------------------------------------------


def openwebui_variable(kind: str, **fields: Any) -> OpenWebUIVariable:
    return OpenWebUIVariable(name="SETTING", label="A setting", type=kind, help_text="", **fields)


def _clean(variable: OpenWebUIVariable, value: Any) -> tuple[Any, str | None]:
    typed, problem = clean_openwebui_value(variable, value)
    assert problem is None or (isinstance(problem, str) and problem.strip())
    return typed, problem


@VALUE_SETTINGS
@given(bounds=limits(), data=st.data())
def test_a_wizard_whole_number_is_accepted_in_range_as_a_number_or_its_text(
    bounds: tuple[float | None, float | None], data: st.DataObject
) -> None:
    low, high = bounds
    variable = openwebui_variable("int", minimum=low, maximum=high)
    number = data.draw(st.integers(min_value=-2000, max_value=2000))
    as_text = data.draw(st.booleans())
    typed, problem = _clean(variable, f" {number} " if as_text else number)
    if _in(number, low, high):
        assert (typed, problem) == (number, None)
    else:
        assert problem
    other = data.draw(ANY_JSON)
    _clean(variable, other)  # never raises; checked for a message above


@VALUE_SETTINGS
@given(bounds=limits(), value=ANY_JSON | st.floats() | st.sampled_from(["nan", "inf", "-inf", "1e400", "0x10"]))
def test_a_wizard_number_is_refused_unless_finite_and_in_range(
    bounds: tuple[float | None, float | None], value: Any
) -> None:
    low, high = bounds
    typed, problem = _clean(openwebui_variable("float", minimum=low, maximum=high), value)
    if problem is None:
        assert isinstance(typed, int | float) and not isinstance(typed, bool)
        assert math.isfinite(typed) and _in(typed, low, high)


@VALUE_SETTINGS
@given(value=ANY_JSON | st.sampled_from(["on", "OFF", " yes ", "No", "1", "0", "maybe"]))
def test_a_wizard_yes_or_no_is_accepted_as_a_boolean_or_its_words(value: Any) -> None:
    typed, problem = _clean(openwebui_variable("bool"), value)
    words = {"true", "on", "1", "yes", "false", "off", "0", "no"}
    accepted = isinstance(value, bool) or (isinstance(value, str) and value.strip().lower() in words)
    assert (problem is None) == accepted
    if accepted:
        assert isinstance(typed, bool)


@VALUE_SETTINGS
@given(value=ANY_JSON | TEXT)
def test_wizard_text_is_accepted_on_one_line_only(value: Any) -> None:
    typed, problem = _clean(openwebui_variable("string"), value)
    one_line = isinstance(value, str) and not any(c in value for c in "\n\r\x00")
    assert (problem is None) == one_line
    if one_line:
        assert typed == value


@VALUE_SETTINGS
@given(options=st.lists(TEXT.filter(bool), min_size=1, max_size=5, unique=True), data=st.data())
def test_a_wizard_choice_is_accepted_only_from_its_options(options: list[str], data: st.DataObject) -> None:
    value = data.draw(st.sampled_from(options) | ANY_JSON)
    _, problem = _clean(openwebui_variable("enum", options=options), value)
    one_line = isinstance(value, str) and not any(c in value for c in "\n\r\x00")
    assert (problem is None) == (one_line and value in options)
