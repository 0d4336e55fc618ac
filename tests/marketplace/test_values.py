"""Values are checked against a JSON Schema built from the variable definitions; each bad value gets a message."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from leger.marketplace import services
from leger.marketplace.models import Selection, Variable
from leger.marketplace.values import coerce_form_values, values_errors, values_schema
from leger.releases.models import OpenWebUIVariable
from leger.releases.services import clean_openwebui_value
from tests.marketplace.factories import make_service, make_slot

VARIABLES = (
    {"name": "A_STRING", "type": "string"},
    {"name": "A_PATTERNED_STRING", "type": "string", "pattern": r"^[0-9]+x[0-9]+$"},
    {"name": "AN_INT", "type": "int", "min": 1, "max": 600},
    {"name": "A_FLOAT", "type": "float", "min": 0, "max": 1},
    {"name": "A_BOOL", "type": "bool"},
    {"name": "AN_ENUM", "type": "enum", "options": ["basic", "advanced"]},
    {"name": "A_URL", "type": "url"},
    {"name": "A_SECRET", "type": "secret"},
    {"name": "A_REQUIRED", "type": "string", "required": True},
)


@pytest.fixture
def everything(db: None):
    slot = make_slot("web-search", "web search engine", ("WEB_SEARCH_ENGINE",))
    return make_service("everything", name="Everything", slot=slot, variables=VARIABLES)


GOOD = {"A_REQUIRED": "here"}


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("A_STRING", 42, "Enter text"),
        ("A_PATTERNED_STRING", "big", "Enter a value matching"),
        # The pattern must match the whole value: "$" lets a trailing line break through a search.
        ("A_PATTERNED_STRING", "512x512\n", "Enter a value matching"),
        ("AN_INT", "abc", "Enter a whole number (not 'abc')"),
        ("AN_INT", 2.5, "Enter a whole number"),
        ("AN_INT", True, "Enter a whole number"),
        ("AN_INT", 3.0, "Enter a whole number (not 3.0)"),
        ("AN_INT", 0, "Enter a value of at least 1 (not 0)"),
        ("AN_INT", 601, "Enter a value of at most 600 (not 601)"),
        ("A_FLOAT", "x", "Enter a number (not 'x')"),
        ("A_FLOAT", 1.5, "Enter a value of at most 1 (not 1.5)"),
        ("A_FLOAT", -0.1, "Enter a value of at least 0"),
        ("A_FLOAT", float("inf"), "Enter a finite number (not inf)"),
        ("A_BOOL", "yes", "Enter true or false (not 'yes')"),
        ("A_BOOL", 1, "Enter true or false"),
        ("AN_ENUM", "deep", "Choose one of 'basic', 'advanced' (not 'deep')"),
        ("A_URL", "qdrant:6333", "Enter a full http:// or https:// address"),
        ("A_URL", "ftp://files.example.org", "Enter a full http:// or https:// address"),
        ("A_URL", "http://has space.example", "Enter a full http:// or https:// address"),
        ("A_SECRET", "", "cannot be empty"),
        ("A_SECRET", 12345, "Enter the secret as text"),
    ],
)
def test_it_refuses_a_bad_value_of_each_type_with_a_message(alice, everything, name, value, message) -> None:
    with pytest.raises(ValidationError) as refused:
        services.selection_create(owner=alice, service=everything, values={**GOOD, name: value})

    problems = {item.params["variable"]: item.params["detail"] for item in refused.value.error_dict["values"]}
    assert list(problems) == [name]
    assert message in problems[name]
    assert not Selection.objects.exists()


def test_a_missing_required_value_and_an_unknown_name_are_refused(alice, everything) -> None:
    with pytest.raises(ValidationError) as refused:
        services.selection_create(owner=alice, service=everything, values={"NOT_A_SETTING": "1"})

    messages = refused.value.message_dict["values"]
    assert "A_REQUIRED: This setting is required." in messages
    assert "NOT_A_SETTING: NOT_A_SETTING is not a setting of Everything." in messages


def test_good_values_of_every_type_are_stored_as_typed(alice, everything) -> None:
    values = {
        "A_STRING": "text",
        "A_PATTERNED_STRING": "512x512",
        "AN_INT": 600,
        "A_FLOAT": 0.25,
        "A_BOOL": True,
        "AN_ENUM": "advanced",
        "A_URL": "http://qdrant:6333",
        "A_SECRET": "s3cret-value-long-enough",
        "A_REQUIRED": "here",
    }

    selection = services.selection_create(owner=alice, service=everything, values=values)

    stored = Selection.objects.get(pk=selection.pk)
    assert stored.values == {name: value for name, value in values.items() if name != "A_SECRET"}
    assert "s3cret-value-long-enough" not in str(stored.secret_values)
    assert stored.secret_masks == {"A_SECRET": "…ough"}


def test_the_slots_shared_settings_are_validated_with_the_service(alice, vector_slot, qdrant) -> None:
    with pytest.raises(ValidationError) as refused:
        services.selection_create(owner=alice, service=qdrant, values={"RAG_TOP_K": 0})

    assert refused.value.message_dict["values"] == ["RAG_TOP_K: Enter a value of at least 1 (not 0)."]


def test_the_schema_says_types_options_ranges_and_required_names() -> None:
    variables = [
        Variable(name="AN_INT", type="int", minimum=1, maximum=10, default=5),
        Variable(name="AN_ENUM", type="enum", options=["a", "b"], required=True),
        Variable(name="A_SECRET", type="secret"),
    ]

    schema = values_schema(variables)

    assert schema["additionalProperties"] is False
    assert schema["required"] == ["AN_ENUM"]
    assert schema["properties"]["AN_INT"] == {
        "title": "AN_INT",
        "type": "integer",
        "minimum": 1,
        "maximum": 10,
        "default": 5,
    }
    assert schema["properties"]["AN_ENUM"]["enum"] == ["a", "b"]
    assert schema["properties"]["A_SECRET"]["writeOnly"] is True
    assert values_errors(variables, {"AN_ENUM": "a", "AN_INT": 10}) == {}


def test_form_text_is_typed_and_text_that_is_not_a_number_stays_for_the_schema_to_refuse() -> None:
    variables = [
        Variable(name="AN_INT", type="int"),
        Variable(name="A_FLOAT", type="float"),
        Variable(name="A_BOOL", type="bool"),
        Variable(name="ANOTHER_BOOL", type="bool"),
        Variable(name="EMPTY", type="string"),
    ]

    values = coerce_form_values(variables, {"AN_INT": " 42 ", "A_FLOAT": "nan", "A_BOOL": "on", "EMPTY": "  "})

    assert values == {"AN_INT": 42, "A_FLOAT": "nan", "A_BOOL": True, "ANOTHER_BOOL": False}
    assert "Enter a number" in values_errors(variables, values)["A_FLOAT"][0]


def test_form_text_is_read_as_the_release_wizard_reads_it() -> None:
    """One reading of text for every typed setting: the wizard's Open WebUI step accepts the same forms."""
    variables = [
        Variable(name="AN_INT", type="int"),
        Variable(name="A_FLOAT", type="float"),
        Variable(name="A_BOOL", type="bool"),
        Variable(name="ANOTHER_BOOL", type="bool"),
    ]
    text = {"AN_INT": "-7", "A_FLOAT": " 1e-3 ", "A_BOOL": " No ", "ANOTHER_BOOL": "maybe"}

    values = coerce_form_values(variables, text)

    assert values == {"AN_INT": -7, "A_FLOAT": 0.001, "A_BOOL": False, "ANOTHER_BOOL": "maybe"}
    assert values_errors(variables, values) == {"ANOTHER_BOOL": ["Enter true or false (not 'maybe')."]}
    for variable in variables:
        wizard = OpenWebUIVariable(name=variable.name, label="A setting", type=variable.type, help_text="")
        typed, problem = clean_openwebui_value(wizard, text[variable.name])
        assert (typed, problem is None) == (values[variable.name], variable.name != "ANOTHER_BOOL")
    _, problem = clean_openwebui_value(wizard, "maybe")
    assert problem == "ANOTHER_BOOL (A setting): Enter true or false (not 'maybe')."
