"""Typed setting values: one checker for every setting a user types a value for.

Two kinds of definition describe such a setting: a marketplace ``Variable`` (of a service or of a slot's
shared settings) and an ``OpenWebUIVariable`` (the release wizard's Open WebUI step). Both have a name, a
label, a type (string, secret, url, int, float, bool, enum), limits, a pattern, options and help text, and
both are checked here, the same way:

- :func:`value_schema` turns a definition into a JSON Schema (Draft 2020-12) and :data:`Validator` checks
  values against it, with two stricter rules than plain JSON Schema: a whole number is an ``int`` (not
  ``3.0``) and a number is finite (no NaN or infinity, which PostgreSQL's jsonb refuses), and a pattern must
  match the whole value (Python's ``re.fullmatch``, not a search that lets a trailing line break through);
- :func:`schema_message` says each problem as what to change;
- :func:`coerce_value` turns the text forms send (``" 42 "``, ``"yes"``) into the type the schema expects,
  and leaves anything it cannot read as it was, so that the schema's message says what is wrong with it
  (one set of messages, not a second one for text);
- :func:`value_problems` and :func:`check_value` check one value; ``one_line`` refuses line breaks where the
  value ends up on one line of a file (the wizard's settings go into an environment file).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any, Protocol

from jsonschema import Draft202012Validator, ValidationError, validators

STRING, SECRET, URL, INT, FLOAT, BOOL, ENUM = "string", "secret", "url", "int", "float", "bool", "enum"
URL_PATTERN = r"^https?://[^\s/?#@]+(:[0-9]+)?([/?#][^\s]*)?$"
# The words a yes-or-no setting accepts as text (any case, spaces around ignored).
TRUE_WORDS = frozenset({"true", "on", "1", "yes"})
FALSE_WORDS = frozenset({"false", "off", "0", "no"})


class Definition(Protocol):
    """What the checker reads of a setting's definition (``Variable`` and ``OpenWebUIVariable`` both fit)."""

    name: str
    type: str
    default: Any
    options: Any
    minimum: float | None
    maximum: float | None
    pattern: str
    help_text: str


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def value_schema(definition: Definition) -> dict[str, Any]:
    """The JSON Schema of one setting's value."""
    schema: dict[str, Any] = {"title": definition.name}
    if definition.help_text:
        schema["description"] = definition.help_text
    kind = definition.type
    if kind in (STRING, SECRET):
        schema["type"] = "string"
        if kind == SECRET:
            schema["minLength"] = 1
            schema["writeOnly"] = True
        if definition.pattern:
            schema["pattern"] = definition.pattern
    elif kind == URL:
        schema.update(type="string", pattern=URL_PATTERN, format="uri")
    elif kind in (INT, FLOAT):
        schema["type"] = "integer" if kind == INT else "number"
        if definition.minimum is not None:
            schema["minimum"] = _number(definition.minimum)
        if definition.maximum is not None:
            schema["maximum"] = _number(definition.maximum)
    elif kind == BOOL:
        schema["type"] = "boolean"
    elif kind == ENUM:
        schema["enum"] = list(definition.options)
    if definition.default is not None and kind != SECRET:
        schema["default"] = definition.default
    return schema


def _is_number(checker: Any, instance: Any) -> bool:
    if isinstance(instance, float):
        return math.isfinite(instance)
    return isinstance(instance, int) and not isinstance(instance, bool)  # any size: never turned into a float


def _is_integer(checker: Any, instance: Any) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


def _fullmatch(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not re.fullmatch(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


Validator = validators.extend(
    Draft202012Validator,
    validators={"pattern": _fullmatch},
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine_many({"number": _is_number, "integer": _is_integer}),
)


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "…"


_TYPE_MESSAGES = {
    "integer": "Enter a whole number",
    "number": "Enter a number",
    "boolean": "Enter true or false",
    "string": "Enter text",
}


def schema_message(error: ValidationError, definition: Definition | None) -> str:
    """One problem the schema found, said as what to change."""
    validator, expected, instance = error.validator, error.validator_value, error.instance
    if validator == "type":
        if isinstance(instance, float) and not math.isfinite(instance):
            return f"Enter a finite number (not {_describe(instance)})."
        base = _TYPE_MESSAGES.get(str(expected), f"Enter a value of type {expected}")
        return f"{base} (not {_describe(instance)})."
    if validator == "minimum":
        return f"Enter a value of at least {_number(expected)} (not {_describe(instance)})."
    if validator == "maximum":
        return f"Enter a value of at most {_number(expected)} (not {_describe(instance)})."
    if validator == "enum":
        choices = ", ".join(repr(option) for option in expected)
        return f"Choose one of {choices} (not {_describe(instance)})."
    if validator == "minLength":
        return "Enter a value; it cannot be empty."
    if validator == "pattern":
        if definition is not None and definition.type == URL:
            return f"Enter a full http:// or https:// address, such as http://host:8080 (not {_describe(instance)})."
        hint = f" {definition.help_text.strip()}" if definition is not None and definition.help_text else ""
        return f"Enter a value matching {expected} (not {_describe(instance)}).{hint}"
    return str(error.message)


_SURROGATE = re.compile("[\ud800-\udfff]")


def unstorable(text: str) -> str | None:
    """Why ``text`` cannot be stored or written into a release file, if it cannot.

    JSON can carry both (``\\u0000``, a lone ``\\ud800``), but PostgreSQL refuses them and no file can hold them.
    """
    if "\x00" in text:
        return "Remove the NUL character (\\u0000); a setting cannot hold it."
    if _SURROGATE.search(text):
        return "Remove the lone surrogate (\\ud800 to \\udfff); it is not a Unicode character."
    return None


def coerce_value(definition: Definition, value: Any) -> Any:
    """``value`` in the setting's type when it is a text form of one (or a whole ``3.0`` for a whole number).

    Text is read with its spaces around ignored: ``" 42 "`` for a whole number, ``"1e-3"`` for a number,
    ``"Yes"`` or ``"off"`` for yes or no. Anything else comes back unchanged for the schema to refuse by
    name; so does a number text that is not finite (``"nan"``, ``"1e400"``).
    """
    kind = definition.type
    if kind == BOOL and isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS | FALSE_WORDS:
            return word in TRUE_WORDS
    elif kind == INT:
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:  # not a whole number, or more digits than Python reads
                return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif kind == FLOAT and isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return value
        return number if math.isfinite(number) else value
    return value


ONE_LINE_MESSAGE = "Keep it on one line: remove the line break."


def value_problems(definition: Definition, value: Any, *, one_line: bool = False) -> list[str]:
    """Every problem with one (typed) value of the setting, said as what to change; empty when it is valid."""
    problems = [schema_message(error, definition) for error in Validator(value_schema(definition)).iter_errors(value)]
    if isinstance(value, str):
        if one_line and ("\n" in value or "\r" in value):
            problems.append(ONE_LINE_MESSAGE)
        if problem := unstorable(value):
            problems.append(problem)
    return problems


def check_value(definition: Definition, value: Any, *, one_line: bool = False) -> tuple[Any, list[str]]:
    """(the value in its type, its problems): text is read first (:func:`coerce_value`), then checked."""
    typed = coerce_value(definition, value)
    return typed, value_problems(definition, typed, one_line=one_line)
