"""Values of a selection's variables: the JSON Schema built from their definitions, and its messages.

The variable definitions of a service (and of its slot's shared settings) are
turned into one JSON Schema (Draft 2020-12): types, options, ranges, patterns,
required names, nothing else allowed. Every interface validates through
:func:`values_errors`, which answers one message per problem, said as what to
change, keyed by variable name.

Forms send text; :func:`coerce_form_values` turns it into the types the schema
expects, and leaves anything it cannot read as it was typed so that the schema
says what is wrong with it (one set of messages, not a second one in the form).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from jsonschema import Draft202012Validator

from leger.marketplace.models import Variable

URL_PATTERN = r"^https?://[^\s/?#@]+(:[0-9]+)?([/?#][^\s]*)?$"
_TRUE_TEXT = {"on", "true", "1", "yes"}

Values = dict[str, Any]
Errors = dict[str, list[str]]


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def variable_schema(variable: Variable) -> dict[str, Any]:
    schema: dict[str, Any] = {"title": variable.name}
    if variable.help_text:
        schema["description"] = variable.help_text
    kind = variable.type
    if kind in (Variable.Type.STRING, Variable.Type.SECRET):
        schema["type"] = "string"
        if kind == Variable.Type.SECRET:
            schema["minLength"] = 1
            schema["writeOnly"] = True
        if variable.pattern:
            schema["pattern"] = variable.pattern
    elif kind == Variable.Type.URL:
        schema.update(type="string", pattern=URL_PATTERN, format="uri")
    elif kind in (Variable.Type.INT, Variable.Type.FLOAT):
        schema["type"] = "integer" if kind == Variable.Type.INT else "number"
        if variable.minimum is not None:
            schema["minimum"] = _number(variable.minimum)
        if variable.maximum is not None:
            schema["maximum"] = _number(variable.maximum)
    elif kind == Variable.Type.BOOL:
        schema["type"] = "boolean"
    elif kind == Variable.Type.ENUM:
        schema["enum"] = list(variable.options)
    if variable.default is not None and kind != Variable.Type.SECRET:
        schema["default"] = variable.default
    return schema


def values_schema(variables: Iterable[Variable], *, secrets: bool = True) -> dict[str, Any]:
    """The JSON Schema a selection's values must satisfy (``secrets=False``: without the secret variables)."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for variable in variables:
        if variable.is_secret and not secrets:
            continue
        properties[variable.name] = variable_schema(variable)
        if variable.required and variable.default is None:
            required.append(variable.name)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "…"


_TYPE_MESSAGES = {
    "integer": "Enter a whole number",
    "number": "Enter a number",
    "boolean": "Enter true or false",
    "string": "Enter text",
}


def _message(error: Any, variable: Variable | None) -> str:
    validator, expected, instance = error.validator, error.validator_value, error.instance
    if validator == "type":
        base = _TYPE_MESSAGES.get(expected, f"Enter a value of type {expected}")
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
        if variable is not None and variable.type == Variable.Type.URL:
            return f"Enter a full http:// or https:// address, such as http://host:8080 (not {_describe(instance)})."
        return f"Enter a value matching {expected} (not {_describe(instance)})."
    return error.message


_SURROGATE = re.compile("[\ud800-\udfff]")


def _unstorable(text: str) -> str | None:
    """Why ``text`` cannot be stored or written into a release file, if it cannot.

    JSON can carry both (``\\u0000``, a lone ``\\ud800``), but PostgreSQL refuses them and no file can hold them.
    """
    if "\x00" in text:
        return "Remove the NUL character (\\u0000); a setting cannot hold it."
    if _SURROGATE.search(text):
        return "Remove the lone surrogate (\\ud800 to \\udfff); it is not a Unicode character."
    return None


def values_errors(
    variables: Iterable[Variable],
    values: Mapping[str, Any],
    *,
    present_secrets: Iterable[str] | None = None,
    owner_name: str = "this service",
) -> Errors:
    """Every problem with ``values``, by variable name; empty when they are valid.

    With ``present_secrets`` the secret variables are not expected in ``values`` (they are stored
    encrypted elsewhere): a required one only has to be among the names given.
    """
    variables = list(variables)
    by_name = {variable.name: variable for variable in variables}
    checking_secrets = present_secrets is None
    schema = values_schema(variables, secrets=checking_secrets)
    errors: Errors = {}
    if not isinstance(values, Mapping):
        return {"": ["Send the values as an object of variable names and values."]}
    for error in Draft202012Validator(schema).iter_errors(dict(values)):
        if error.validator == "required":
            for name in error.validator_value:
                if name not in values:
                    errors.setdefault(name, []).append("This setting is required.")
            continue
        if error.validator == "additionalProperties":
            for name in sorted(set(values) - set(schema["properties"])):
                if name in by_name:  # a secret sent where only plain values belong
                    errors.setdefault(name, []).append("This is a secret; it is set separately.")
                else:
                    errors.setdefault(name, []).append(f"{name} is not a setting of {owner_name}.")
            continue
        name = str(error.absolute_path[0]) if error.absolute_path else ""
        errors.setdefault(name, []).append(_message(error, by_name.get(name)))
    for name, value in values.items():
        if isinstance(value, str) and (problem := _unstorable(value)):
            errors.setdefault(str(name), []).append(problem)
    if not checking_secrets:
        present = set(present_secrets or ())
        for variable in variables:
            if variable.is_secret and variable.required and variable.name not in present:
                errors.setdefault(variable.name, []).append("This secret is required.")
    return errors


def coerce_form_values(variables: Iterable[Variable], data: Mapping[str, Any], *, prefix: str = "") -> Values:
    """Typed values from a form's text, by variable name; empty fields are left out (the default applies).

    A checkbox that is not sent means ``False``. Text that is not a number stays text, so the schema's
    message says what to enter instead.
    """
    values: Values = {}
    for variable in variables:
        key = prefix + variable.name
        if variable.type == Variable.Type.BOOL:
            raw = data.get(key)
            values[variable.name] = str(raw).strip().lower() in _TRUE_TEXT if raw is not None else False
            continue
        raw = data.get(key)
        if raw is None:
            continue
        text = str(raw).strip()
        if text == "":
            continue
        if variable.type == Variable.Type.INT:
            values[variable.name] = int(text) if re.fullmatch(r"[-+]?\d+", text) else text
        elif variable.type == Variable.Type.FLOAT:
            try:
                number = float(text)
            except ValueError:
                values[variable.name] = text
            else:
                values[variable.name] = number if number == number and abs(number) != float("inf") else text
        else:
            values[variable.name] = text
    return values


def split_secrets(variables: Iterable[Variable], values: Mapping[str, Any]) -> tuple[Values, Values]:
    """(plain values, secret values) of one set of values."""
    secret_names = {variable.name for variable in variables if variable.is_secret}
    plain = {name: value for name, value in values.items() if name not in secret_names}
    secret = {name: value for name, value in values.items() if name in secret_names}
    return plain, secret
