"""The fixture loader shared by every app that keeps reference data under ``fixtures/``.

Every ``*.json`` file under the fixtures directory (except JSON Schemas in its
``schema/`` folder) is an envelope::

    {"$schema": "schema/models.schema.json", "kind": "catalog.models", "items": [...]}

An app declares how to load one ``kind`` with a :class:`FixtureKind` and
:func:`register_kind` from its ``AppConfig.ready()``. The kind's JSON Schema
(Draft 2020-12, a file under ``fixtures/schema/``) describes the whole file,
envelope included, so an editor that follows ``$schema`` validates the same
thing the loader does.

:func:`load_fixtures` works in two stages so that a bad file never leaves the
database half-written:

1. read and validate every file (JSON syntax, envelope, the kind's schema, ids
   unique within a kind, then every kind's ``check``), collecting up to
   :data:`MAX_PROBLEMS` problems; any problem stops here, before any write;
2. inside one ``transaction.atomic()``, call every kind's ``load`` in dependency
   order, then run the removals they asked for in reverse dependency order (so a
   row that disappears is deleted only after the rows of later kinds that
   pointed at it). A row another app still protects fails the whole load.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import ProtectedError, Q, RestrictedError
from django.db.models.deletion import Collector
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

MAX_PROBLEMS = 20

Outcome = Literal["created", "updated", "unchanged"]


# --- what a kind declares ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One entry of one fixture file, already valid against its kind's schema."""

    path: Path
    index: int
    data: dict[str, Any]

    @property
    def label(self) -> str:
        item_id = self.data.get("id")
        return str(item_id) if item_id not in (None, "") else f"#{self.index}"


@dataclass(frozen=True)
class FixtureKind:
    name: str
    schema_file: str
    load: Callable[[list[Item], LoadContext], None]
    after: tuple[str, ...] = ()
    check: Callable[[list[Item], CheckContext], None] | None = None


class FixtureError(Exception):
    """One problem in the fixtures, located by file, entry and field.

    ``str()`` reads ``fixtures/catalog/models/anthropic.json: entry 'claude-3-haiku', field 'context_window': …``.
    ``path`` may be None for problems that belong to no file (a row that left the fixtures but is still used).
    """

    def __init__(
        self,
        *,
        path: Path | str | None,
        entry: str | None = None,
        field: str | None = None,
        message: str,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.entry = entry
        self.field = field
        self.message = message
        super().__init__(str(self))

    @classmethod
    def at(cls, item: Item, field: str | None, message: str) -> FixtureError:
        return cls(path=item.path, entry=item.label, field=field, message=message)

    def __str__(self) -> str:
        where: list[str | None] = [None]
        if self.entry:
            where[0] = f"entry {self.entry}" if self.entry.startswith("#") else f"entry '{self.entry}'"
        where.append(f"field '{self.field}'" if self.field else None)
        location = ", ".join(part for part in where if part)
        prefix = display_path(self.path) if self.path is not None else "fixtures"
        return f"{prefix}: {location}: {self.message}" if location else f"{prefix}: {self.message}"


class FixtureProblems(Exception):
    """Raised by :func:`load_fixtures` with every problem found; nothing was written."""

    def __init__(self, errors: list[FixtureError], *, truncated: bool = False) -> None:
        self.errors = errors
        self.truncated = truncated
        lines = [str(error) for error in errors]
        if truncated:
            lines.append(f"(stopped after {len(errors)} problems)")
        super().__init__("\n".join(lines))


def display_path(path: Path) -> str:
    """A path as people read it: relative to the project when it lives there."""
    for root in (Path(settings.BASE_DIR), Path.cwd()):
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            continue
    return str(path)


_KINDS: dict[str, FixtureKind] = {}


def register_kind(kind: FixtureKind) -> None:
    existing = _KINDS.get(kind.name)
    if existing is not None and existing != kind:
        raise ValueError(f"Fixture kind {kind.name!r} is already registered by {existing.load.__module__}.")
    _KINDS[kind.name] = kind


def registered_kinds() -> dict[str, FixtureKind]:
    return dict(_KINDS)


def _in_dependency_order(kinds: Mapping[str, FixtureKind]) -> list[FixtureKind]:
    ordered: list[FixtureKind] = []
    state: dict[str, str] = {}

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            raise ValueError(f"Fixture kinds depend on each other in a loop: {' -> '.join((*chain, name))}.")
        if name not in kinds:
            raise ValueError(f"Fixture kind {chain[-1]!r} must load after {name!r}, which is not registered.")
        state[name] = "visiting"
        for before in kinds[name].after:
            visit(before, (*chain, name))
        state[name] = "done"
        ordered.append(kinds[name])

    for name in sorted(kinds):
        visit(name, ())
    return ordered


# --- check stage ------------------------------------------------------------------------------------------------


class _TooManyProblems(Exception):
    pass


class _Problems:
    def __init__(self) -> None:
        self.errors: list[FixtureError] = []

    def add(self, error: FixtureError) -> None:
        self.errors.append(error)
        if len(self.errors) >= MAX_PROBLEMS:
            raise _TooManyProblems

    def __bool__(self) -> bool:
        return bool(self.errors)


class CheckContext:
    """What a kind's ``check`` sees: every valid item of every kind in the files being loaded."""

    def __init__(self, directory: Path, items: Mapping[str, list[Item]], problems: _Problems) -> None:
        self.directory = directory
        self._items = items
        self._problems = problems

    def items(self, kind: str) -> list[Item]:
        return list(self._items.get(kind, []))

    def ids(self, kind: str) -> set[str]:
        return {str(item.data["id"]) for item in self._items.get(kind, []) if "id" in item.data}

    def by_id(self, kind: str) -> dict[str, Item]:
        return {str(item.data["id"]): item for item in self._items.get(kind, []) if "id" in item.data}

    def add(self, error: FixtureError) -> None:
        """Record a problem and keep checking (raising a FixtureError records it and ends that check)."""
        self._problems.add(error)

    def problem(self, item: Item, field: str | None, message: str) -> None:
        self.add(FixtureError.at(item, field, message))


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"key {key!r} appears twice in the same object")
        result[key] = value
    return result


_ENVELOPE_KEYS = {"$schema", "kind", "items"}


def _schema_dirs(directory: Path) -> list[Path]:
    # A directory given on the command line may bring its own schemas; otherwise the project's apply.
    dirs = [directory / "schema"]
    default = Path(settings.LEGER_FIXTURES_DIR) / "schema"
    if default.resolve() != dirs[0].resolve():
        dirs.append(default)
    return dirs


def _json_path(parts: Iterable[str | int]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _schema_problem(path: Path, document: Any, error: Any) -> FixtureError:
    """Turn a jsonschema error into file / entry / field, naming the field that is missing or unexpected."""
    parts = list(error.absolute_path)
    message = error.message
    if error.validator == "required":
        missing = [
            name for name in error.validator_value if isinstance(error.instance, dict) and name not in error.instance
        ]
        named = next((name for name in missing if repr(name) in error.message), missing[0] if missing else None)
        if named is not None:
            parts.append(named)
            message = "is required"
    elif error.validator in ("additionalProperties", "unevaluatedProperties") and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        unexpected = sorted(key for key in error.instance if key not in allowed)
        if unexpected:
            parts.append(unexpected[0])
            others = f" (nor {', '.join(repr(key) for key in unexpected[1:])})" if unexpected[1:] else ""
            message = f"is not an allowed property here{others}; allowed: {', '.join(sorted(allowed))}"
    elif error.validator is None and error.schema is False:
        message = "is not allowed for this kind of entry"
    elif error.validator == "const":
        message = f"must be {error.validator_value!r}"
    elif error.validator == "pattern":
        message = f"{error.instance!r} does not match the pattern {error.validator_value!r}"
    described = isinstance(error.schema, dict) and error.schema.get("description")
    if described and error.validator not in ("required", "additionalProperties", "unevaluatedProperties"):
        message = f"{message} (expected: {error.schema['description']})"

    entry = None
    if len(parts) >= 2 and parts[0] == "items" and isinstance(parts[1], int):
        index = parts[1]
        data = document["items"][index] if isinstance(document.get("items"), list) else None
        entry = Item(path, index, data).label if isinstance(data, dict) else f"#{index}"
        parts = parts[2:]
    return FixtureError(path=path, entry=entry, field=_json_path(parts) or None, message=message)


def _read_files(
    directory: Path, kinds: Mapping[str, FixtureKind], problems: _Problems
) -> tuple[list[Path], dict[str, list[Item]]]:
    files = sorted(
        path
        for path in directory.rglob("*.json")
        if path.is_file() and "schema" not in path.relative_to(directory).parts[:1]
    )
    items: dict[str, list[Item]] = defaultdict(list)
    validators: dict[str, Draft202012Validator] = {}

    def validator_for(kind: FixtureKind) -> Draft202012Validator | None:
        if kind.name in validators:
            return validators[kind.name]
        for schema_dir in _schema_dirs(directory):
            schema_path = schema_dir / kind.schema_file
            if schema_path.is_file():
                break
        else:
            problems.add(
                FixtureError(
                    path=directory / "schema" / kind.schema_file, message=f"schema of kind {kind.name!r} is missing"
                )
            )
            return None
        try:
            schema = json.loads(schema_path.read_text(encoding="utf-8"))
            Draft202012Validator.check_schema(schema)
        except (ValueError, SchemaError) as exc:
            problems.add(FixtureError(path=schema_path, message=f"not a valid JSON Schema: {exc}"))
            return None
        validators[kind.name] = Draft202012Validator(schema)
        return validators[kind.name]

    for path in files:
        try:
            document = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_reject_duplicate_keys)
        except UnicodeDecodeError as exc:
            problems.add(FixtureError(path=path, message=f"not UTF-8 text: {exc}"))
            continue
        except json.JSONDecodeError as exc:
            problems.add(
                FixtureError(path=path, message=f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")
            )
            continue
        except ValueError as exc:
            problems.add(FixtureError(path=path, message=f"invalid JSON: {exc}"))
            continue

        if not isinstance(document, dict):
            problems.add(FixtureError(path=path, message='must be an object {"$schema", "kind", "items"}'))
            continue
        envelope_ok = True
        for key in ("kind", "items"):
            if key not in document:
                problems.add(
                    FixtureError(
                        path=path, field=key, message='is required: a fixture file is {"$schema", "kind", "items"}'
                    )
                )
                envelope_ok = False
        for key in sorted(set(document) - _ENVELOPE_KEYS):
            problems.add(
                FixtureError(
                    path=path,
                    field=key,
                    message='is not allowed: a fixture file has only "$schema", "kind" and "items"',
                )
            )
            envelope_ok = False
        if not envelope_ok:
            continue
        kind = kinds.get(document["kind"]) if isinstance(document["kind"], str) else None
        if kind is None:
            known = ", ".join(sorted(kinds)) or "none"
            problems.add(
                FixtureError(
                    path=path, field="kind", message=f"unknown kind {document['kind']!r}; known kinds: {known}"
                )
            )
            continue
        expected_schema = f"schema/{kind.schema_file}"
        if "$schema" in document and document["$schema"] != expected_schema:
            problems.add(
                FixtureError(path=path, field="$schema", message=f"must be {expected_schema!r} for kind {kind.name!r}")
            )
            continue
        validator = validator_for(kind)
        if validator is None:
            continue
        errors = sorted(validator.iter_errors(document), key=lambda error: [str(part) for part in error.absolute_path])
        for error in errors:
            problems.add(_schema_problem(path, document, error))
        if errors:
            continue
        if not all(isinstance(data, dict) for data in document["items"]):
            problems.add(FixtureError(path=path, field="items", message="every entry must be a JSON object"))
            continue
        items[kind.name].extend(Item(path, index, data) for index, data in enumerate(document["items"]))
    return files, items


def _check_unique_ids(items: Mapping[str, list[Item]], problems: _Problems) -> None:
    for kind_items in items.values():
        seen: dict[str, Item] = {}
        for item in kind_items:
            if "id" not in item.data:
                continue
            first = seen.setdefault(str(item.data["id"]), item)
            if first is not item:
                where = display_path(first.path) if first.path != item.path else "this file"
                problems.add(
                    FixtureError.at(
                        item, "id", f"is a duplicate: {item.label!r} is already entry #{first.index} of {where}"
                    )
                )


# --- load stage -------------------------------------------------------------------------------------------------


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0

    def add(self, other: Counts) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.removed += other.removed

    @property
    def writes(self) -> int:
        return self.created + self.updated + self.removed


@dataclass
class LoadReport:
    directory: Path
    files: list[Path]
    items: dict[str, int]
    dry_run: bool
    # kind -> model label (e.g. "catalog.LLM") -> counts
    counts: dict[str, dict[str, Counts]] = field(default_factory=dict)
    seconds: float = 0.0

    def totals(self, kind: str) -> Counts:
        total = Counts()
        for counts in self.counts.get(kind, {}).values():
            total.add(counts)
        return total

    @property
    def wrote_anything(self) -> bool:
        return any(counts.writes for by_model in self.counts.values() for counts in by_model.values())

    def lines(self) -> list[str]:
        where = display_path(self.directory)
        entries = sum(self.items.values())
        if self.dry_run:
            lines = [
                f"Checked {len(self.files)} files ({entries} entries) in {where}: no problems. Nothing was written."
            ]
            lines += [f"  {kind}: {count} entries" for kind, count in self.items.items()]
            return lines
        lines = [f"Loaded {len(self.files)} files ({entries} entries) from {where} in {self.seconds:.2f}s."]
        for kind, by_model in self.counts.items():
            for model_label, c in by_model.items():
                lines.append(
                    f"  {kind} / {model_label}: {c.created} created, {c.updated} updated, "
                    f"{c.unchanged} unchanged, {c.removed} removed"
                )
        if not self.wrote_anything:
            lines.append("Nothing changed.")
        return lines


Key = Any


class _Table:
    """Every row of one model, read once, so that unchanged rows cost no query."""

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        self.rows: dict[Key, models.Model] = {obj.pk: obj for obj in model._default_manager.all()}
        self.m2m: dict[str, dict[Key, set[Key]]] = {}
        self.indexes: dict[tuple[str, ...], dict[tuple[Any, ...], Key]] = {}

    def m2m_values(self, name: str) -> dict[Key, set[Key]]:
        if name not in self.m2m:
            m2m_field = self.model._meta.get_field(name)
            through = m2m_field.remote_field.through
            source = through._meta.get_field(m2m_field.m2m_field_name()).attname
            target = through._meta.get_field(m2m_field.m2m_reverse_field_name()).attname
            values: dict[Key, set[Key]] = defaultdict(set)
            for row_pk, other_pk in through._default_manager.values_list(source, target):
                values[row_pk].add(other_pk)
            self.m2m[name] = values
        return self.m2m[name]

    def index(self, names: tuple[str, ...]) -> dict[tuple[Any, ...], Key]:
        if names not in self.indexes:
            attnames = [self.model._meta.get_field(name).attname for name in names]
            self.indexes[names] = {
                tuple(getattr(obj, attname) for attname in attnames): pk for pk, obj in self.rows.items()
            }
        return self.indexes[names]

    def add(self, obj: models.Model) -> None:
        self.rows[obj.pk] = obj
        for names, index in self.indexes.items():
            attnames = [self.model._meta.get_field(name).attname for name in names]
            index[tuple(getattr(obj, attname) for attname in attnames)] = obj.pk

    def discard(self, pk: Key) -> None:
        obj = self.rows.pop(pk, None)
        for m2m in self.m2m.values():
            m2m.pop(pk, None)
        if obj is not None:
            for names, index in self.indexes.items():
                attnames = [self.model._meta.get_field(name).attname for name in names]
                index.pop(tuple(getattr(obj, attname) for attname in attnames), None)


def _normalize(model_field: models.Field, value: Any) -> Any:
    if model_field.is_relation:
        if isinstance(value, models.Model):
            value = value.pk
        return None if value is None else model_field.target_field.to_python(value)
    if value is None:
        return None
    value = model_field.to_python(value)
    if isinstance(model_field, models.DecimalField) and isinstance(value, Decimal):
        value = value.quantize(Decimal(1).scaleb(-model_field.decimal_places))
    return value


@dataclass
class _Removal:
    kind: str
    model: type[models.Model]
    keep: set[Any]
    key_names: tuple[str, ...] | None
    among: Q | None


class LoadContext:
    """What a kind's ``load`` writes through; every write is counted for the report."""

    def __init__(self) -> None:
        self.kind = ""
        self.counts: dict[str, dict[str, Counts]] = {}
        self._tables: dict[type[models.Model], _Table] = {}
        self._removals: list[_Removal] = []

    def _table(self, model: type[models.Model]) -> _Table:
        if model not in self._tables:
            self._tables[model] = _Table(model)
        return self._tables[model]

    def _count(self, model: type[models.Model]) -> Counts:
        by_model = self.counts.setdefault(self.kind, {})
        return by_model.setdefault(model._meta.label, Counts())

    def _resolve(self, table: _Table, pk: Key | Mapping[str, Any]) -> tuple[Key | None, dict[str, Any]]:
        """The primary key of the row ``pk`` names (None if it does not exist yet) and the fields that name it."""
        meta = table.model._meta
        if isinstance(pk, Mapping):
            names = tuple(sorted(pk))
            values = tuple(_normalize(meta.get_field(name), pk[name]) for name in names)
            return table.index(names).get(values), dict(zip(names, values, strict=True))
        pk = _normalize(meta.pk, pk)
        return (pk if pk in table.rows else None), {meta.pk.name: pk}

    def upsert(
        self,
        model: type[models.Model],
        pk: Key | Mapping[str, Any],
        fields: Mapping[str, Any],
        m2m: Mapping[str, Iterable[Any]] | None = None,
        *,
        item: Item | None = None,
    ) -> Outcome:
        """Create or update one row, writing only what differs.

        ``pk`` is the primary key, or for a model with a surrogate key a mapping of the fields that identify a
        row (``{"llm": "gpt-4o", "provider": "openai"}``). ``fields`` maps field names to values (a foreign key
        takes the related primary key); ``m2m`` maps many-to-many field names to related primary keys.
        ``item``, when given, is named in the error if the row fails the model's own field validation.
        """
        table = self._table(model)
        meta = model._meta
        existing_pk, identity = self._resolve(table, pk)
        wanted = {name: _normalize(meta.get_field(name), value) for name, value in {**fields, **identity}.items()}
        wanted_m2m: dict[str, set[Any]] = {}
        for name, values in (m2m or {}).items():
            target = meta.get_field(name).target_field
            wanted_m2m[name] = {target.to_python(v.pk if isinstance(v, models.Model) else v) for v in values}

        if existing_pk is None:
            obj = model(**{meta.get_field(name).attname: value for name, value in wanted.items()})
            self._clean(obj, list(wanted), item)
            obj.save(force_insert=True)
            table.add(obj)
            for name, values in wanted_m2m.items():
                if values:
                    getattr(obj, name).set(values)
                table.m2m_values(name)[obj.pk] = set(values)
            self._count(model).created += 1
            return "created"

        obj = table.rows[existing_pk]
        changed = []
        for name, value in wanted.items():
            attname = meta.get_field(name).attname
            if getattr(obj, attname) != value:
                setattr(obj, attname, value)
                changed.append(name)
        changed_m2m = [
            name for name, values in wanted_m2m.items() if table.m2m_values(name).get(obj.pk, set()) != values
        ]
        if changed:
            self._clean(obj, changed, item)
            obj.save(update_fields=changed)
        for name in changed_m2m:
            getattr(obj, name).set(wanted_m2m[name])
            table.m2m_values(name)[obj.pk] = set(wanted_m2m[name])
        if changed or changed_m2m:
            self._count(model).updated += 1
            return "updated"
        self._count(model).unchanged += 1
        return "unchanged"

    def _clean(self, obj: models.Model, names: list[str], item: Item | None) -> None:
        # Relations are left to the kinds' checks: validating a foreign key costs a query per row.
        exclude = [f.name for f in obj._meta.fields if f.name not in names or f.is_relation]
        try:
            obj.clean_fields(exclude=exclude)
        except ValidationError as exc:
            name, messages = next(iter(exc.message_dict.items()))
            where = item or Item(Path(settings.LEGER_FIXTURES_DIR), 0, {"id": str(obj.pk)})
            raise FixtureProblems([FixtureError.at(where, name, " ".join(messages))]) from None

    def remove_missing(
        self,
        model: type[models.Model],
        keep_pks: Iterable[Key | Mapping[str, Any]],
        *,
        among: Q | None = None,
        defer: bool = True,
    ) -> None:
        """Delete the rows of ``model`` that are not in ``keep_pks`` (limited to ``among`` when given).

        ``keep_pks`` holds primary keys, or mappings in the same form as ``upsert``'s ``pk``. Removals run after
        every kind has loaded, in reverse dependency order, so rows of later kinds that pointed at a removed row
        are gone first. ``defer=False`` removes now, for when an upsert of the same kind needs the space (a
        unique default). A row that something else still protects fails the load, naming what uses it.
        """
        keep_list = list(keep_pks)
        key_names = tuple(sorted(keep_list[0])) if keep_list and isinstance(keep_list[0], Mapping) else None
        meta = model._meta
        if key_names is None:
            keep = {_normalize(meta.pk, pk) for pk in keep_list}
        else:
            keep = {tuple(_normalize(meta.get_field(name), pk[name]) for name in key_names) for pk in keep_list}
        removal = _Removal(self.kind, model, keep, key_names, among)
        if defer:
            self._removals.append(removal)
        else:
            self._remove(removal)

    def _remove(self, removal: _Removal) -> None:
        table = self._table(removal.model)
        if removal.key_names is None:
            candidates = {pk for pk in table.rows if pk not in removal.keep}
        else:
            candidates = {pk for key, pk in table.index(removal.key_names).items() if key not in removal.keep}
        if removal.among is not None and candidates:
            candidates &= set(
                removal.model._default_manager.filter(removal.among, pk__in=candidates).values_list("pk", flat=True)
            )
        if not candidates:
            return
        queryset = removal.model._default_manager.filter(pk__in=candidates)
        # Ask Django's collector first, without deleting: a row another app PROTECTs fails the load, named.
        problems: list[FixtureError] = []
        for obj in queryset.order_by("pk"):
            try:
                Collector(using=queryset.db).collect([obj])
            except (ProtectedError, RestrictedError) as exc:
                problems.append(_still_used(removal, obj, exc))
        if problems:
            raise FixtureProblems(problems)
        _, deleted = queryset.delete()
        for pk in candidates:
            table.discard(pk)
        # Rows deleted by cascade (offerings of a removed model, m2m links) are no longer what the caches say.
        for model in [model for model in self._tables if model is not removal.model]:
            if deleted.get(model._meta.label):
                del self._tables[model]
        if any(label not in {model._meta.label for model in self._tables} for label in deleted):
            for other in self._tables.values():
                other.m2m.clear()
        previous, self.kind = self.kind, removal.kind
        self._count(removal.model).removed += deleted.get(removal.model._meta.label, 0)
        self.kind = previous

    def run_removals(self, kind_order: list[str]) -> None:
        """Run the deferred removals, later kinds first (load_fixtures does this after every load)."""
        rank = {name: position for position, name in enumerate(kind_order)}
        # Later kinds first; within a kind, in the order asked.
        for removal in sorted(self._removals, key=lambda r: -rank.get(r.kind, 0)):
            self._remove(removal)
        self._removals.clear()


def _still_used(removal: _Removal, obj: models.Model, exc: ProtectedError | RestrictedError) -> FixtureError:
    users: Counter[str] = Counter()
    examples: dict[str, list[str]] = defaultdict(list)
    holders = exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
    for holder in holders:
        # Name holders by model and id only: their str() might show something private (a key's label or value).
        name = str(holder._meta.verbose_name)
        users[name] += 1
        if len(examples[name]) < 3:
            examples[name].append(f"#{holder.pk}")
    used_by = "; ".join(
        f"{count} {name}{'s' if count > 1 else ''} ({', '.join(examples[name])})" for name, count in users.items()
    )
    return FixtureError(
        path=None,
        entry=str(obj.pk),
        message=(
            f"{obj._meta.verbose_name} {str(obj.pk)!r} is no longer in the fixtures of kind {removal.kind!r} but is "
            f"still used by {used_by}; keep it in the fixtures or remove what uses it first"
        ),
    )


# --- entry point ------------------------------------------------------------------------------------------------


def load_fixtures(directory: Path | None = None, *, dry_run: bool = False) -> LoadReport:
    """Validate every fixture file, then (unless ``dry_run``) load them all in one transaction.

    Raises :class:`FixtureProblems` listing what is wrong; in that case nothing was written.
    """
    started = time.perf_counter()
    directory = Path(directory or settings.LEGER_FIXTURES_DIR)
    if not directory.is_dir():
        raise FixtureProblems([FixtureError(path=directory, message="is not a directory")])
    kinds = registered_kinds()
    order = _in_dependency_order(kinds)

    problems = _Problems()
    files: list[Path] = []
    items: dict[str, list[Item]] = {}
    try:
        files, items = _read_files(directory, kinds, problems)
        if not problems:
            _check_unique_ids(items, problems)
        if not problems:
            context = CheckContext(directory, items, problems)
            for kind in order:
                if kind.check is None:
                    continue
                try:
                    kind.check(list(items.get(kind.name, [])), context)
                except FixtureError as error:
                    problems.add(error)
    except _TooManyProblems:
        raise FixtureProblems(problems.errors, truncated=True) from None
    if problems:
        raise FixtureProblems(problems.errors)

    report = LoadReport(
        directory=directory,
        files=files,
        items={kind.name: len(items.get(kind.name, [])) for kind in order},
        dry_run=dry_run,
    )
    if not dry_run:
        load_context = LoadContext()
        try:
            with transaction.atomic():
                for kind in order:
                    load_context.kind = kind.name
                    load_context.counts.setdefault(kind.name, {})
                    try:
                        kind.load(list(items.get(kind.name, [])), load_context)
                    except FixtureError as error:
                        raise FixtureProblems([error]) from None
                load_context.run_removals([kind.name for kind in order])
        except IntegrityError as exc:
            # A rule only the database knows (or a load running at the same moment): the transaction is gone.
            message = f"the database refused the {load_context.kind!r} entries: {exc}".strip()
            raise FixtureProblems([FixtureError(path=directory, message=message)]) from exc
        report.counts = load_context.counts
    report.seconds = time.perf_counter() - started
    return report
