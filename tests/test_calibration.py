"""Calibration: faculty CSV parsing, AI-faculty agreement, the scores export."""

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from simpatient.content import CaseLibrary, Rubric
from simpatient.dialogue.encoders import LexicalEncoder, PhraseMatcher
from simpatient.evaluator import calibration as cal
from simpatient.evaluator.evaluation import Evaluation, evaluate
from simpatient.evaluator.transcript import from_session
from simpatient.store import SessionStore, now

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "evaluation" / "calibration" / "sample_faculty.csv"
HEADER = "session_id,rubric,item,score,rater\n"


@pytest.fixture
def rubrics(library: CaseLibrary) -> list[Rubric]:
    return list(library.rubrics.values())


def _rating(session: str, item: str, score: int, rater: str = "") -> cal.FacultyRating:
    return cal.FacultyRating(0, session, "spikes-bbn", item, score, rater)


def _stored(*items: tuple[str, int | None, str]) -> dict[str, Any]:
    """An evaluation as the evaluation store keeps it (Evaluation.as_dict())."""
    return {
        "items": [
            {"rubric": "spikes-bbn", "item": i, "score": s, "status": st, "tier": 1, "title": i}
            for i, s, st in items
        ]
    }


def _pairs(ai: list[int], faculty: list[int], item: str = "perception") -> cal.Agreement:
    evaluations = {f"s{n}": _stored((item, a, "scored")) for n, a in enumerate(ai)}
    ratings = [_rating(f"s{n}", item, f) for n, f in enumerate(faculty)]
    return cal.calibrate(ratings, evaluations).items[0]


# --- agreement ---------------------------------------------------------------------------


def test_agreement_figures_on_a_hand_computed_case() -> None:
    # AI 0 1 2 2 1 vs faculty 0 2 2 1 1: differences 0 -1 0 +1 0.
    # Quadratic kappa = 1 - observed / expected squared disagreement: observed (0+1+0+1+0)/5
    # = 0.4; both raters' marginals are (0.2, 0.4, 0.4), mean 1.2, variance 0.56, so
    # expected = 2 * 0.56 = 1.12 and kappa = 1 - 0.4 / 1.12 = 9/14.
    a = _pairs([0, 1, 2, 2, 1], [0, 2, 2, 1, 1])
    assert (a.n, a.exact, a.within_one, a.mean_difference) == (5, 0.6, 1.0, 0.0)
    assert a.kappa == pytest.approx(9 / 14)
    # ICC(2,1), n=5 sessions, k=2 raters: session means 0 1.5 2 1.5 1, grand mean 1.2, both
    # rater means 1.2. BMS = 2 * 2.3 / 4 = 1.15, JMS = 0, EMS = (5.6 - 4.6) / 4 = 0.25:
    # (1.15 - 0.25) / (1.15 + 0.25 + 2 * (0 - 0.25) / 5) = 0.9 / 1.3 = 9/13.
    assert a.icc == pytest.approx(9 / 13)
    assert a.verdict == cal.TRUST


def test_icc_matches_shrout_and_fleiss_table_2() -> None:
    # Shrout & Fleiss 1979, Table 2: 6 targets, 4 judges; ICC(2,1) = 0.29.
    table = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    assert cal.icc_2_1(table) == pytest.approx(0.29, abs=0.005)


def test_icc_is_undefined_without_variance_or_pairs() -> None:
    with pytest.raises(ValueError, match="do not vary"):
        cal.icc_2_1([[1, 1], [1, 1], [1, 1]])
    with pytest.raises(ValueError, match="at least 2"):
        cal.icc_2_1([[1, 2]])


def test_a_biased_ai_is_not_trusted_and_says_why() -> None:
    a = _pairs([2, 2, 2, 2, 2, 2], [0, 0, 1, 0, 2, 0])
    assert a.verdict == cal.REVIEW
    assert a.mean_difference == pytest.approx(9 / 6)  # differences 2 2 1 2 0 2
    assert any("within one" in n for n in a.notes)
    assert any("weighted kappa" in n for n in a.notes)


def test_identical_scores_leave_kappa_and_icc_undefined_with_reasons() -> None:
    a = _pairs([2] * 5, [2] * 5)
    assert (a.exact, a.kappa, a.icc) == (1.0, None, None)
    assert a.verdict == cal.REVIEW  # full agreement, but nothing shows the AI discriminates
    assert any("kappa undefined" in n for n in a.notes)
    assert any("ICC undefined" in n for n in a.notes)


def test_few_ratings_get_no_verdict() -> None:
    a = _pairs([0, 2], [0, 2])
    assert a.verdict == cal.TOO_FEW
    assert a.exact == 1.0
    one = _pairs([1], [1])
    assert one.verdict == cal.TOO_FEW
    assert one.icc is None


def test_each_rater_is_a_pair_and_unmatched_ratings_say_why() -> None:
    evaluations = {
        "a": _stored(("perception", 2, "scored"), ("emotions", None, "judge_error")),
        "b": _stored(("perception", 1, "scored")),
    }
    ratings = [
        _rating("a", "perception", 2, "x"),
        _rating("a", "perception", 1, "y"),
        _rating("b", "perception", 1, "x"),
        _rating("a", "emotions", 1, "x"),
        _rating("b", "emotions", 1, "x"),
        _rating("c", "perception", 0, "x"),
    ]
    result = cal.calibrate(ratings, evaluations)
    perception, emotions = result.items
    assert (perception.item, perception.n, perception.exact) == ("perception", 3, 2 / 3)
    assert (emotions.item, emotions.n, emotions.verdict) == ("emotions", 0, cal.TOO_FEW)
    assert result.overall.n == 3
    assert result.raters == ["x", "y"]
    reasons = [why for _, why in result.unmatched]
    assert reasons == [
        "the AI gave no score (judge_error)",
        "the AI evaluation did not include this item",
        "no AI evaluation of this session",
    ]


# --- the faculty CSV ---------------------------------------------------------------------


def _problems(data: bytes | str, rubrics: list[Rubric]) -> list[str]:
    with pytest.raises(cal.FacultyCSVError) as caught:
        cal.parse_faculty_csv(data, rubrics)
    assert str(caught.value).count("\n") == len(caught.value.problems)  # one error, all listed
    return [str(p) for p in caught.value.problems]


def test_a_valid_file_gives_typed_rows(rubrics: list[Rubric]) -> None:
    text = "\ufeffRater, Score ,item,rubric,session_id\nx,2,perception,spikes-bbn,s1\n"
    text += ",0,setting,spikes-bbn,s1\n"
    assert cal.parse_faculty_csv(text.encode(), rubrics) == [
        cal.FacultyRating(2, "s1", "spikes-bbn", "perception", 2, "x"),
        cal.FacultyRating(3, "s1", "spikes-bbn", "setting", 0, ""),
    ]


def test_the_rater_column_is_optional(rubrics: list[Rubric]) -> None:
    rows = cal.parse_faculty_csv("session_id,rubric,item,score\ns1,spikes-bbn,setting,1\n", rubrics)
    assert rows[0].rater == ""


def test_every_row_problem_is_reported_with_line_and_column(rubrics: list[Rubric]) -> None:
    text = HEADER + (
        "s1,spikes-bnb,setting,1,x\n"  # 2: rubric typo
        "s1,spikes-bbn,perceptoin,1,x\n"  # 3: item typo
        "s1,spikes-bbn,setting,3,x\n"  # 4: off the scale
        "s1,spikes-bbn,setting,1.5,x\n"  # 5: not whole
        "s1,spikes-bbn,setting,,x\n"  # 6: empty score
        ",spikes-bbn,setting,1,x\n"  # 7: no session
        "s1,spikes-bbn,setting\n"  # 8: short row
        '"s1\nsplit",spikes-bbn,emotions,2,x\n'  # 9-10: a quoted field over two lines
        "s2,spikes-bbn,setting,-1,x\n"  # 11: negative
        "s1,spikes-bbn,invitation,1,x\n"  # 12: fine
        "\n"
        "s1,spikes-bbn,invitation,2,x\n"  # 14: repeats line 12
    )
    assert _problems(text, rubrics) == [
        "line 2, column rubric: unknown rubric 'spikes-bnb'; did you mean 'spikes-bbn'?",
        "line 3, column item: 'spikes-bbn' has no item 'perceptoin'; did you mean 'perception'?",
        "line 4, column score: 3 is outside the scale 0-2",
        "line 5, column score: '1.5' is not a whole number",
        "line 6, column score: '' is not a whole number",
        "line 7, column session_id: empty",
        "line 8: 3 field(s) where the header has 5",
        "line 11, column score: -1 is outside the scale 0-2",
        "line 14: repeats line 12: same session, item, rater",
    ]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            "session_id,rubric,score\n",
            ["line 1, column item: missing required column"],
        ),
        (
            "session_id,rubric,item,scroe,rater\n",
            [
                "line 1, column score: missing required column",
                "line 1, column scroe: unknown column; did you mean 'score'?",
            ],
        ),
        (
            "session_id,rubric,item,score,score\n",
            ["line 1, column score: column appears more than once"],
        ),
        (
            "session_id,rubric,item,score,\n",
            ["line 1: a column with no name (a trailing comma?)"],
        ),
    ],
)
def test_header_problems(header: str, expected: list[str], rubrics: list[Rubric]) -> None:
    assert _problems(header + "s1,spikes-bbn,setting,1,x\n", rubrics) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "file: the file is empty; expected session_id,rubric,item,score,rater"),
        (b"\n\n  \n", "file: the file is empty; expected session_id,rubric,item,score,rater"),
        (HEADER.encode(), "file: no ratings below the header"),
        (b"PK\x03\x04\x14\x00\x06\x00", "file: binary content, not CSV text"),
        (HEADER.encode() + b"s1,spikes-bbn,setting,1,Dr M\xfcller\n", "line 2: not UTF-8 text"),
        (HEADER.encode() + b"x" * cal.MAX_BYTES, "file: 1,000,035 bytes; the limit is 1,000,000"),
        (
            HEADER.encode() + b's1,spikes-bbn,setting,1,"' + b"x" * 200_000 + b'"\n',
            "line 2: not valid CSV: field larger than field limit",
        ),
    ],
    ids=["empty", "blank lines", "header only", "binary", "latin-1", "oversize", "huge field"],
)
def test_file_problems(data: bytes, expected: str, rubrics: list[Rubric]) -> None:
    (problem,) = _problems(data, rubrics)
    assert problem.startswith(expected)


def test_the_sample_parses_against_the_shipped_rubrics(rubrics: list[Rubric]) -> None:
    ratings = cal.parse_faculty_csv(SAMPLE.read_bytes(), rubrics)
    assert len(ratings) == 48
    assert {r.rater for r in ratings} == {"dr-adeyemi", "dr-lindqvist"}
    assert len({r.session_id for r in ratings}) == 3


# --- sessions in the store, evaluated, calibrated, exported ------------------------------

CONVERSATIONS = {
    "sample-session-1": [
        ("learner", "Hello Maggie, is it okay if I sit down? Would you like anyone else here?"),
        ("patient", "No, it's just me. Go on."),
        (
            "learner",
            "Before I go through the results, what do you understand about why we did the scan?",
        ),
        ("patient", "My CEA went up. I think it might be back."),
        (
            "learner",
            "How much detail would be helpful for you today? I'm afraid I have some serious news.",
        ),
        ("patient", "Just tell me."),
        ("learner", "The scan shows the illness has come back. I can see this is a real shock."),
        ("patient", "I knew it."),
    ],
    "sample-session-2": [
        ("learner", "Hi. What have you been told so far?"),
        ("patient", "Not much."),
        (
            "learner",
            "The results aren't what we were hoping for. The scan shows the illness has come back.",
        ),
        ("patient", "Oh no."),
    ],
    "sample-session-3": [
        ("learner", "I've only got a minute, but the results are back."),
        ("patient", "And?"),
        (
            "learner",
            "Right, results: it's a tumour. Don't worry, treatments are so much better these days.",
        ),
        ("patient", "What?"),
    ],
}


@pytest.fixture
def sessions(tmp_path: Path, library: CaseLibrary) -> tuple[dict[str, str], dict[str, Evaluation]]:
    """The sample conversations as store sessions scored by tier 1: the store id of each
    sample id, and the evaluation of each store id."""
    store = SessionStore.open(f"sqlite:///{tmp_path / 'store.db'}")
    matcher = PhraseMatcher(LexicalEncoder())
    ids, evaluations = {}, {}
    for sample_id, turns in CONVERSATIONS.items():
        session_id = store.start_session("maggie-recurrence-bbn", "margaret-oconnell", "text")
        for speaker, text in turns:
            store.add_turn(session_id, speaker, text, now(), now())
        transcript = from_session(store.get(session_id))
        ids[sample_id] = session_id
        evaluations[session_id] = evaluate(transcript, [library.rubrics["spikes-bbn"]], matcher)
    store.close()
    return ids, evaluations


def test_the_sample_calibrates_against_store_sessions(
    sessions: tuple[dict[str, str], dict[str, Evaluation]], rubrics: list[Rubric]
) -> None:
    ids, evaluations = sessions
    text = SAMPLE.read_text(encoding="utf-8")
    for sample_id, session_id in ids.items():  # the sample's ids stand for real ones
        text = text.replace(sample_id, session_id)
    ratings = cal.parse_faculty_csv(text, rubrics)
    result = cal.calibrate(ratings, evaluations)
    assert result.unmatched == []
    spikes = next(r for r in rubrics if r.id == "spikes-bbn")
    assert [a.item for a in result.items] == [i.id for i in spikes.items]
    assert {a.n for a in result.items} == {6}  # 3 sessions x 2 raters
    assert result.overall.n == 48
    assert all(a.verdict in (cal.TRUST, cal.REVIEW) for a in [*result.items, result.overall])
    assert result.overall.kappa is not None
    # the evaluation store keeps as_dict(): the same figures from it
    stored = {sid: e.as_dict() for sid, e in evaluations.items()}
    assert cal.calibrate(ratings, stored) == result


def test_the_export_has_a_row_per_item_and_escapes_formulas(
    sessions: tuple[dict[str, str], dict[str, Evaluation]],
) -> None:
    _, evaluations = sessions
    hostile = ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\tx"]
    when = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
    infos = [
        cal.SessionInfo(sid, hostile[n], hostile[n + 1], hostile[4], when)
        for n, sid in enumerate(evaluations)
    ]
    text = cal.scores_csv(zip(infos, evaluations.values(), strict=True))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 3 * 8
    assert {r["learner"] for r in rows} == {'\'=HYPERLINK("http://x")', "'+1", "'-2+3"}
    assert {r["cohort"] for r in rows} == {"'+1", "'-2+3", "'@SUM(A1)"}
    assert {r["scenario"] for r in rows} == {"'\tx"}
    first = rows[0]
    assert (first["date"], first["max"], first["tier"]) == ("2026-11-28T09:30:00+00:00", "2", "1")
    assert first["score"] in ("0", "1", "2")
    assert first["open_questions"].isdigit()
    assert first["jargon_count"].isdigit()
    assert list(first)[: len(cal.EXPORT_COLUMNS)] == list(cal.EXPORT_COLUMNS)
    stored = [e.as_dict() for e in evaluations.values()]
    assert cal.scores_csv(zip(infos, stored, strict=True)) == text


def test_an_unscored_item_exports_an_empty_score() -> None:
    info = cal.SessionInfo("s1", "Ann", "2026", "case", datetime(2026, 1, 2, tzinfo=UTC).date())
    stored = _stored(("setting", None, "judge_error")) | {"metrics": {"learner_turns": 1}}
    (row,) = csv.DictReader(io.StringIO(cal.scores_csv([(info, stored)])))
    assert (row["score"], row["status"], row["date"], row["learner_turns"]) == (
        "",
        "judge_error",
        "2026-01-02",
        "1",
    )
    assert row["jargon_count"] == ""  # a metric the stored result lacks
