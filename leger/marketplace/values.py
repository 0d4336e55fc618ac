"""Values of a selection's variables: the JSON Schema built from their definitions, and its messages.

The variable definitions of a service (and of its slot's shared settings) are
turned into one JSON Schema (Draft 2020-12): types, options, ranges, patterns,
required names, nothing else allowed. Every interface validates through
:func:`values_errors`, which answers one message per problem, said as what to
change, keyed by variable name.

Each variable's own schema, the checks and the messages are those of every typed
setting (:mod:`leger.lib.typed_values`; the release wizard's Open WebUI settings
use them too). Forms send text; :func:`coerce_form_values` turns it into the
types the schema expects, and leaves anything it cannot read as it was typed so
that the schema says what is wrong with it (one set of messages, not a second one
in the form).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from leger.lib.typed_values import Validator, coerce_value, schema_message, unstorable, value_schema
from leger.marketplace.models import Variable

Values = dict[str, Any]
Errors = dict[str, list[str]]


def values_schema(variables: Iterable[Variable], *, secrets: bool = True) -> dict[str, Any]:
    """The JSON Schema a selection's values must satisfy (``secrets=False``: without the secret variables)."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for variable in variables:
        if variable.is_secret and not secrets:
            continue
        properties[variable.name] = value_schema(variable)
        if variable.required and variable.default is None:
            required.append(variable.name)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


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
    for error in Validator(schema).iter_errors(dict(values)):
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
        errors.setdefault(name, []).append(schema_message(error, by_name.get(name)))
    for name, value in values.items():
        if isinstance(value, str) and (problem := unstorable(value)):
            errors.setdefault(str(name), []).append(problem)
    if not checking_secrets:
        present = set(present_secrets or ())
        for variable in variables:
            if variable.is_secret and variable.required and variable.name not in present:
                errors.setdefault(variable.name, []).append("This secret is required.")
    return errors


def coerce_form_values(variables: Iterable[Variable], data: Mapping[str, Any], *, prefix: str = "") -> Values:
    """Typed values from a form's text, by variable name; empty fields are left out (the default applies).

    A checkbox that is not sent (or sent empty) means ``False``. Text is read as every typed setting's text
    is (:func:`leger.lib.typed_values.coerce_value`); text that is not a number stays text, so the schema's
    message says what to enter instead.
    """
    values: Values = {}
    for variable in variables:
        raw = data.get(prefix + variable.name)
        text = "" if raw is None else str(raw).strip()
        if variable.type == Variable.Type.BOOL:
            values[variable.name] = coerce_value(variable, text) if text else False
        elif text:
            values[variable.name] = coerce_value(variable, text)
    return values


def split_secrets(variables: Iterable[Variable], values: Mapping[str, Any]) -> tuple[Values, Values]:
    """(plain values, secret values) of one set of values."""
    secret_names = {variable.name for variable in variables if variable.is_secret}
    plain = {name: value for name, value in values.items() if name not in secret_names}
    secret = {name: value for name, value in values.items() if name in secret_names}
    return plain, secret
