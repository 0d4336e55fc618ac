from __future__ import annotations

import pytest

from leger.releases import quadlet


def test_it_reads_sections_keys_and_line_numbers() -> None:
    unit = quadlet.parse("# comment\n[Unit]\nDescription=x\n\n; other comment\n[Container]\nImage=a:1\nImage = b:2\n")
    assert [s.name for s in unit.sections] == ["Unit", "Container"]
    assert [(e.key, e.value, e.line) for e in unit.entries("Container")] == [("Image", "a:1", 7), ("Image", "b:2", 8)]
    assert unit.problems == []


def test_it_joins_continuation_lines_and_keeps_the_first_line_number() -> None:
    unit = quadlet.parse("[Container]\nExec=a \\\n  b \\\n# skipped\n  c\nImage=x\n")
    exec_line, image = unit.entries("Container")
    assert (exec_line.key, exec_line.value.split(), exec_line.line) == ("Exec", ["a", "b", "c"], 2)
    assert (image.key, image.value, image.line) == ("Image", "x", 6)


def test_it_reports_lines_it_cannot_read() -> None:
    unit = quadlet.parse("Image=x\n[Container\n[Container]\njust words\n=value\n")
    assert [(p.line, p.message.split(" ")[0]) for p in unit.problems] == [
        (1, "Image="),
        (2, "malformed"),
        (4, "expected"),
        (5, "invalid"),
    ]


def test_it_splits_words_like_quadlet() -> None:
    assert quadlet.split_words('"A=b c" D=e \'F=g h\' "I=x\\ny\\"z"') == ["A=b c", "D=e", "F=g h", 'I=x\ny"z']
    with pytest.raises(ValueError, match="unterminated"):
        quadlet.split_words('"A=b')


@pytest.mark.parametrize(
    ("path", "unit"),
    [
        ("openwebui.container", "openwebui.service"),
        ("llm.network", "llm-network.service"),
        ("openwebui-data.volume", "openwebui-data-volume.service"),
    ],
)
def test_it_names_the_units_quadlet_generates(path: str, unit: str) -> None:
    assert quadlet.unit_name(path) == unit
