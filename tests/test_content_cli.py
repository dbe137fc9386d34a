"""``simpatient validate PATH...``: one `file:line:column: field: message` line per problem."""

import re
from pathlib import Path

import pytest
from content_fixtures import (
    PERSONA_YAML,
    PLANTED,
    REPO_ROOT,
    SCENARIO_YAML,
    line_of,
    replace_once,
    write,
    write_case,
)

from simpatient.cli import main
from simpatient.content.yamlfile import MAX_BYTES

LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<column>\d+): (?P<field>\S+): (?P<message>.+)$")
SHIPPED = [REPO_ROOT / "personas", REPO_ROOT / "scenarios", REPO_ROOT / "evaluation/rubrics"]


@pytest.fixture(autouse=True)
def _library_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # validate resolves references against the library named by the settings.
    monkeypatch.setenv("SIMPATIENT_LIBRARY", str(REPO_ROOT))
    monkeypatch.delenv("SIMPATIENT_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)


def validate(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["validate", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def parse(out: str) -> list[dict[str, str]]:
    lines = out.splitlines()
    matches = [LINE.match(line) for line in lines]
    assert all(matches), [line for line, m in zip(lines, matches, strict=True) if not m]
    return [m.groupdict() for m in matches if m]


def test_shipped_folders_are_valid(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = validate(capsys, *SHIPPED)
    files = sum(len(list(folder.glob("*.yaml"))) for folder in SHIPPED)
    assert files >= 18
    assert (code, out) == (0, "")
    assert err == f"0 error(s), 0 warning(s) in {files} file(s) checked\n"


def test_shipped_folders_are_valid_even_when_strict(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = validate(capsys, "--strict", *SHIPPED)
    assert (code, out) == (0, "")


def test_one_shipped_scenario_resolves_against_the_library(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = validate(capsys, REPO_ROOT / "scenarios/maggie-goals-of-care.yaml")
    assert (code, out, err) == (0, "", "0 error(s), 0 warning(s) in 1 file(s) checked\n")


def test_planted_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "scenarios", "x.yaml", PLANTED)
    code, out, err = validate(capsys, path)
    assert code == 1
    rows = parse(out)
    assert {r["path"] for r in rows} == {str(path)}
    got = [(int(r["line"]), int(r["column"]), r["field"], r["message"]) for r in rows]
    assert got == [
        (1, 1, "setting", "required field is missing"),
        (1, 1, "opening_line", "required field is missing"),
        (
            line_of(PLANTED, "visibility: secret"),
            17,
            "facts[1].visibility",
            "Input should be 'known', 'guarded' or 'unknown'",
        ),
        (line_of(PLANTED, "believes:"), 3, "understanding.expects", "required field is missing"),
        (
            line_of(PLANTED, "time_limit_minutes"),
            21,
            "time_limit_minutes",
            "Input should be a valid integer, unable to parse string as an integer",
        ),
        (
            line_of(PLANTED, "oppening_line"),
            1,
            "oppening_line",
            "unknown key 'oppening_line'; did you mean 'opening_line'?",
        ),
    ]
    assert err == "6 error(s), 0 warning(s) in 1 file(s) checked\n"
    assert "Traceback" not in out + err


def test_an_invalid_persona_is_not_used_by_its_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_case(tmp_path, persona=replace_once(PERSONA_YAML, "age: 40", "age: 400"))
    code, out, err = validate(capsys, tmp_path / "personas", tmp_path / "scenarios")
    assert code == 1
    persona, scenario = (
        tmp_path / "personas/test-patient.yaml",
        tmp_path / "scenarios/test-scenario.yaml",
    )
    assert parse(out) == [
        {
            "path": str(persona),
            "line": str(line_of(PERSONA_YAML, "age: 40")),
            "column": "6",
            "field": "age",
            "message": "Input should be less than or equal to 120",
        },
        {
            "path": str(scenario),
            "line": str(line_of(SCENARIO_YAML, "persona:")),
            "column": "10",
            "field": "persona",
            "message": "no persona 'test-patient'",
        },
        {
            # rubrics/ was not passed, and the shipped library has no such rubric.
            "path": str(scenario),
            "line": str(line_of(SCENARIO_YAML, "- test-rubric")),
            "column": "5",
            "field": "rubrics[0]",
            "message": "no rubric 'test-rubric'",
        },
    ]
    assert err == "3 error(s), 0 warning(s) in 2 file(s) checked\n"


def test_references_come_from_the_configured_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = replace_once(SCENARIO_YAML, "persona: test-patient", "persona: margaret-oconnell")
    scenario = replace_once(scenario, "- test-rubric", "- sicg-goals")
    path = write(tmp_path, "scenarios", "test-scenario.yaml", scenario)
    assert validate(capsys, path)[0] == 0
    monkeypatch.setenv("SIMPATIENT_LIBRARY", str(tmp_path / "empty"))
    code, out, _ = validate(capsys, path)
    assert code == 1
    assert [(r["field"], r["message"]) for r in parse(out)] == [
        ("persona", "no persona 'margaret-oconnell'"),
        ("rubrics[0]", "no rubric 'sicg-goals'"),
    ]


def test_missing_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = validate(capsys, tmp_path / "nope")
    assert code == 1
    assert out == f"{tmp_path / 'nope'}:0:0: (document): no such file or folder\n"


def test_no_paths_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["validate"])
    assert raised.value.code == 2
    assert "PATH" in capsys.readouterr().err


BROKEN: dict[str, tuple[str, bytes, str]] = {
    "binary": ("personas", b"\x7fELF\x02\x01\x01\x00\x00\x00", "this is a binary file"),
    "oversized": (
        "personas",
        (PERSONA_YAML + "x" * MAX_BYTES).encode(),
        f"case files are limited to {MAX_BYTES // 1024} KiB",
    ),
    "bad indentation": ("scenarios", b"id: x\ntitle: t\n  setting: s\n", "invalid YAML"),
    "unclosed bracket": ("scenarios", b"id: x\nrubrics: [a, b\ntitle: t\n", "invalid YAML"),
    "unclosed quote": ("scenarios", b'id: x\ntitle: "t\n', "invalid YAML"),
    "duplicate key": ("rubrics", b"id: x\nid: y\n", "duplicate key"),
    "not utf-8": ("personas", b"id: x\nname: Zo\xeb\n", "not UTF-8 text"),
    "list": ("scenarios", b"- a\n- b\n", "expected a mapping of fields"),
    "wrong folder": ("cases", PERSONA_YAML.encode(), "cannot tell what this file is"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_files_give_one_line_and_no_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    folder, content, expected = BROKEN[case]
    path = write(tmp_path, folder, "broken.yaml", content)
    code, out, err = validate(capsys, path)
    assert code == 1
    assert "Traceback" not in out + err
    [row] = parse(out)
    assert row["path"] == str(path)
    assert row["field"] == "(document)"
    assert expected in row["message"]
    assert err.startswith("1 error(s), 0 warning(s)")


def test_broken_files_do_not_hide_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, (folder, content, _) in BROKEN.items():
        write(tmp_path, folder, name.replace(" ", "-") + ".yaml", content)
    write(tmp_path, "personas", "test-patient.yaml", PERSONA_YAML)
    code, out, err = validate(capsys, tmp_path)
    assert code == 1
    rows = parse(out)
    assert len(rows) == len(BROKEN)
    assert "test-patient.yaml" not in out
    assert err.startswith(f"{len(BROKEN)} error(s), 0 warning(s)")


def test_merge_key_does_not_crash_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = replace_once(SCENARIO_YAML, "    visibility: known\n", "    visibility: knwon\n")
    scenario = replace_once(scenario, "  - id: diagnosis\n", "  - &d\n    id: diagnosis\n")
    scenario = replace_once(
        scenario,
        "understanding:\n",
        "  - {<<: *d, id: again}\nunderstanding:\n",
    )
    write_case(tmp_path, scenario=scenario)
    code, out, _ = validate(capsys, tmp_path)
    assert code == 1
    assert len(parse(out)) == 2


def test_summary_counts_every_file_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "personas", "binary.yaml", b"\x00\x01")
    write(tmp_path, "personas", "test-patient.yaml", PERSONA_YAML)
    _, _, err = validate(capsys, tmp_path)
    assert err == "1 error(s), 0 warning(s) in 2 file(s) checked\n"
