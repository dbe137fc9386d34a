"""Calibration: how far the AI rater agrees with faculty, item by item; and CSV export.

Faculty ratings CSV (UTF-8, comma-separated, one header row, column order free, names
case-insensitive)::

    session_id,rubric,item,score,rater
    3f2a...,spikes-bbn,perception,2,dr-okafor

``session_id`` is the session's id in the store (as in :func:`scores_csv`), ``rubric`` and
``item`` are ids from ``evaluation/rubrics/``, ``score`` is a whole number on the item's
0-2 scale (not done / partly / done). ``rater`` is optional: several raters may rate the
same session item, one row each; a missing or empty rater counts as one anonymous rater.
The same session, item and rater twice is an error. :func:`parse_faculty_csv` checks every
row and raises one :class:`FacultyCSVError` listing every problem with its line and column.

Agreement pairs the AI's score with *each* faculty rating of the same session, rubric and
item. Several raters give several pairs, not one pair with the faculty mean: on a 0-2 scale
the rounded mean of two raters who split 1/2 is an arbitrary 2 (or 1), and the question a
director asks is whether the AI rates like one of their faculty. Pairs that share a session
are not independent, so treat n as the number of ratings, not of sessions.
"""

import csv
import difflib
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import cohen_kappa_score  # type: ignore[import-untyped]

from simpatient.content import Rubric
from simpatient.errors import SimPatientError
from simpatient.evaluator import metrics, tier1
from simpatient.evaluator.evaluation import Evaluation

COLUMNS = ("session_id", "rubric", "item", "score", "rater")
REQUIRED = ("session_id", "rubric", "item", "score")
#: Every rubric item is scored 0 (not done), 1 (partly) or 2 (done).
SCALE = range(tier1.MAX_SCORE + 1)
#: Largest upload accepted: about 20,000 ratings, far more than a calibration round.
MAX_BYTES = 1_000_000

#: Verdict thresholds. Within one point >= 0.85 is the practical target for LLM raters in
#: shared/reference/rubrics.md (LLMs reach 0.67-0.87 on MIRS, Geathers et al. 2025). On a
#: 0-2 scale only 0-vs-2 misses it, so weighted kappa carries the weight: >= 0.6 is the
#: start of "substantial" agreement (Landis & Koch 1977). Below MIN_PAIRS ratings no
#: verdict is given: one disagreement would swing every figure by 20 points or more.
TRUST_WITHIN_ONE = 0.85
TRUST_KAPPA = 0.6
MIN_PAIRS = 5
TRUST, REVIEW, TOO_FEW = "trust", "review", "too few ratings"
#: Cell openings a spreadsheet runs as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class FacultyRating:
    """One faculty score for one rubric item of one session; ``line`` is its CSV line."""

    line: int
    session_id: str
    rubric: str
    item: str
    score: int
    rater: str  # "" when the file names no rater


class Rating(Protocol):
    """A faculty rating: a :class:`FacultyRating`, or one read back from the store."""

    @property
    def session_id(self) -> str: ...
    @property
    def rubric(self) -> str: ...
    @property
    def item(self) -> str: ...
    @property
    def score(self) -> int: ...
    @property
    def rater(self) -> str: ...


#: An evaluation, or the ``as_dict()`` of one as the evaluation store keeps it.
Result = Evaluation | Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class CSVProblem:
    """What is wrong at a line (1 is the header; 0: the whole file) and column."""

    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        return f"{where}{f', column {self.column}' if self.column else ''}: {self.message}"


class FacultyCSVError(SimPatientError, ValueError):
    """A faculty ratings CSV that cannot be used; ``problems`` lists every problem found."""

    def __init__(self, problems: list[CSVProblem]) -> None:
        self.problems = problems
        super().__init__(
            f"the faculty ratings CSV has {len(problems)} problem(s):\n"
            + "\n".join(f"  {p}" for p in problems)
        )


def parse_faculty_csv(data: bytes | str, rubrics: Iterable[Rubric]) -> list[FacultyRating]:
    """The ratings in an uploaded faculty CSV, each checked against ``rubrics``.

    Raises :class:`FacultyCSVError` with all problems: oversize, binary or non-UTF-8
    content, an empty file, missing or unknown columns, and per row an empty session id, an
    unknown rubric or item (with the closest id), a score that is not a whole number on the
    item's scale, a row with the wrong number of fields, or a repeated rating.
    """
    rows = _rows(_text_of(data))
    header = [name.strip().lower() for name in rows[0][1]] if rows else []
    if not any(header):
        expected = ",".join(COLUMNS)
        raise FacultyCSVError([CSVProblem(0, None, f"the file is empty; expected {expected}")])
    problems = _header_problems(header)
    if problems:
        raise FacultyCSVError(problems)
    by_id = {r.id: r for r in rubrics}
    ratings: list[FacultyRating] = []
    first_seen: dict[tuple[str, str, str, str], int] = {}
    for line, fields in rows[1:]:
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != len(header):
            problems.append(
                CSVProblem(line, None, f"{len(fields)} field(s) where the header has {len(header)}")
            )
            continue
        rating, found = _check_row(line, dict(zip(header, fields, strict=True)), by_id)
        problems += found
        if rating is None:
            continue
        key = (rating.session_id, rating.rubric, rating.item, rating.rater)
        if key in first_seen:
            problems.append(
                CSVProblem(line, None, f"repeats line {first_seen[key]}: same session, item, rater")
            )
            continue
        first_seen[key] = line
        ratings.append(rating)
    if not ratings and not problems:
        problems.append(CSVProblem(0, None, "no ratings below the header"))
    if problems:
        raise FacultyCSVError(problems)
    return ratings


def _text_of(data: bytes | str) -> str:
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if len(raw) > MAX_BYTES:
        raise FacultyCSVError(
            [CSVProblem(0, None, f"{len(raw):,} bytes; the limit is {MAX_BYTES:,}: split the file")]
        )
    if b"\0" in raw:
        message = "binary content, not CSV text (a spreadsheet? export it as CSV UTF-8)"
        raise FacultyCSVError([CSVProblem(0, None, message)])
    try:
        return raw.decode("utf-8-sig")  # a byte-order mark, as Excel writes, is fine
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise FacultyCSVError(
            [CSVProblem(line, None, "not UTF-8 text: save the file as 'CSV UTF-8'")]
        ) from None


def _rows(text: str) -> list[tuple[int, list[str]]]:
    """Each CSV row with the source line it starts on (a quoted field may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, list[str]]] = []
    previous = 0
    try:
        for fields in reader:
            rows.append((previous + 1, fields))
            previous = reader.line_num
    except csv.Error as e:
        raise FacultyCSVError([CSVProblem(reader.line_num, None, f"not valid CSV: {e}")]) from None
    return rows


def _header_problems(header: list[str]) -> list[CSVProblem]:
    problems = [
        CSVProblem(1, name, "missing required column") for name in REQUIRED if name not in header
    ]
    for name in sorted({n for n in header if header.count(n) > 1}):
        problems.append(CSVProblem(1, name, "column appears more than once"))
    for name in header:
        if not name:
            problems.append(CSVProblem(1, None, "a column with no name (a trailing comma?)"))
        elif name not in COLUMNS:
            problems.append(CSVProblem(1, name, f"unknown column{_hint(name, COLUMNS)}"))
    return problems


def _check_row(
    line: int, row: dict[str, str], rubrics: Mapping[str, Rubric]
) -> tuple[FacultyRating | None, list[CSVProblem]]:
    problems = []
    session_id, rubric_id, item_id, raw_score = (row[c].strip() for c in REQUIRED)
    if not session_id:
        problems.append(CSVProblem(line, "session_id", "empty"))
    rubric = rubrics.get(rubric_id)
    if rubric is None:
        problems.append(
            CSVProblem(line, "rubric", f"unknown rubric '{rubric_id}'{_hint(rubric_id, rubrics)}")
        )
    elif item_id not in (ids := [i.id for i in rubric.items]):
        problems.append(
            CSVProblem(line, "item", f"'{rubric_id}' has no item '{item_id}'{_hint(item_id, ids)}")
        )
    score = None
    try:
        score = int(raw_score)
    except ValueError:
        problems.append(CSVProblem(line, "score", f"'{raw_score}' is not a whole number"))
    if score is not None and score not in SCALE:
        problems.append(
            CSVProblem(line, "score", f"{score} is outside the scale {SCALE[0]}-{SCALE[-1]}")
        )
    if problems or score is None:
        return None, problems
    rater = row.get("rater", "").strip()
    return FacultyRating(line, session_id, rubric_id, item_id, score, rater), []


def _hint(word: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(known), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


@dataclass(frozen=True, slots=True)
class Agreement:
    """How the AI agrees with faculty on one rubric item (``rubric`` "" : all items pooled)."""

    rubric: str
    item: str
    n: int  # (AI, faculty) pairs
    exact: float | None
    within_one: float | None
    kappa: float | None  # Cohen's kappa, quadratic weights
    icc: float | None  # ICC(2,1)
    mean_difference: float | None  # AI - faculty in points; > 0: the AI is more lenient
    verdict: str  # TRUST, REVIEW (check the AI's scores by hand) or TOO_FEW
    notes: tuple[str, ...]  # why the verdict, and why any figure is missing


@dataclass(frozen=True)
class Calibration:
    """Per-item agreement (in the order the faculty CSV first names each item), pooled."""

    items: list[Agreement]
    overall: Agreement
    unmatched: list[tuple[Rating, str]]  # ratings with no AI score to compare, and why
    raters: list[str]  # "" is the anonymous rater


def calibrate(ratings: Iterable[Rating], evaluations: Mapping[str, Result]) -> Calibration:
    """Compare faculty ``ratings`` with the AI's scores in ``evaluations`` (by session id)."""
    ai = {
        (sid, i["rubric"], i["item"]): i
        for sid, result in evaluations.items()
        for i in _stored(result)["items"]
    }
    pairs: dict[tuple[str, str], list[tuple[int, int]]] = {}
    unmatched: list[tuple[Rating, str]] = []
    raters: set[str] = set()
    for rating in ratings:
        raters.add(rating.rater)
        mine = pairs.setdefault((rating.rubric, rating.item), [])
        result = ai.get((rating.session_id, rating.rubric, rating.item))
        if rating.session_id not in evaluations:
            unmatched.append((rating, "no AI evaluation of this session"))
        elif result is None:
            unmatched.append((rating, "the AI evaluation did not include this item"))
        elif result["score"] is None:
            unmatched.append((rating, f"the AI gave no score ({result['status']})"))
        else:
            mine.append((result["score"], rating.score))
    items = [_agreement(rubric, item, p) for (rubric, item), p in pairs.items()]
    pooled = _agreement("", "", [pair for p in pairs.values() for pair in p])
    return Calibration(items, pooled, unmatched, sorted(raters))


def icc_2_1(ratings: ArrayLike) -> float:
    """ICC(2,1) of an n x k matrix, n targets each rated by the same k raters: two-way
    random effects, absolute agreement, single rater (Shrout & Fleiss 1979, Psychol Bull
    86:420-428, case 2)::

        ICC(2,1) = (BMS - EMS) / (BMS + (k - 1) EMS + k (JMS - EMS) / n)

    with BMS, JMS and EMS the between-targets, between-raters and residual mean squares of
    the two-way ANOVA. Raises ValueError when it is undefined.
    """
    x = np.asarray(ratings, dtype=float)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise ValueError("needs at least 2 rated targets and 2 raters")
    n, k = x.shape
    grand = x.mean()
    targets, raters = x.mean(axis=1, keepdims=True), x.mean(axis=0, keepdims=True)
    bms = k * float(((targets - grand) ** 2).sum()) / (n - 1)
    jms = n * float(((raters - grand) ** 2).sum()) / (k - 1)
    ems = float(((x - targets - raters + grand) ** 2).sum()) / ((n - 1) * (k - 1))
    denominator = bms + (k - 1) * ems + k * (jms - ems) / n
    if denominator <= 1e-12:
        raise ValueError("the scores do not vary between sessions or raters")
    return float((bms - ems) / denominator)


def _agreement(rubric: str, item: str, pairs: list[tuple[int, int]]) -> Agreement:
    if not pairs:
        note = "no faculty rating has an AI score to compare"
        return Agreement(rubric, item, 0, None, None, None, None, None, TOO_FEW, (note,))
    scores = np.array(pairs)
    ai, faculty = scores[:, 0], scores[:, 1]
    gap = np.abs(ai - faculty)
    exact, within_one = float(np.mean(gap == 0)), float(np.mean(gap <= 1))
    notes: list[str] = []
    kappa = None
    if len(set(scores.flat)) == 1:
        notes.append("kappa undefined: every score was the same")
    else:
        kappa = float(cohen_kappa_score(ai, faculty, weights="quadratic", labels=list(SCALE)))
    icc = None
    try:
        icc = icc_2_1(scores)
    except ValueError as e:
        notes.append(f"ICC undefined: {e}")
    if len(pairs) < MIN_PAIRS:
        verdict = TOO_FEW
        notes.insert(0, f"{len(pairs)} rating(s); a verdict needs {MIN_PAIRS}")
    else:
        short = []
        if within_one < TRUST_WITHIN_ONE:
            short.append(f"within one {within_one:.2f} is below {TRUST_WITHIN_ONE}")
        if kappa is None or kappa < TRUST_KAPPA:
            shown = "undefined" if kappa is None else f"{kappa:.2f}"
            short.append(f"weighted kappa {shown} is below {TRUST_KAPPA}")
        verdict = REVIEW if short else TRUST
        notes[:0] = short
    bias = float(np.mean(ai - faculty))
    return Agreement(
        rubric, item, len(pairs), exact, within_one, kappa, icc, bias, verdict, tuple(notes)
    )


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """What the export says about a session (learner and cohort come from the accounts)."""

    session_id: str
    learner: str
    cohort: str
    scenario: str
    date: date  # a datetime is a date too


#: The scores export's columns before the conversation metrics.
EXPORT_COLUMNS = (
    *("session_id", "learner", "cohort", "scenario", "date"),
    *("rubric", "item", "title", "score", "max", "tier", "status"),
)


def scores_csv(sessions: Iterable[tuple[SessionInfo, Result]]) -> str:
    """CSV text, one row per session and rubric item: EXPORT_COLUMNS (score empty when the
    item was not scored), then the session's conversation metrics, a list-valued metric as
    ``<name>_count``. Text cells a spreadsheet would run as a formula get a leading ``'``."""
    lists = {k for k, v in metrics.Metrics().as_dict().items() if isinstance(v, list)}
    names = list(metrics.Metrics().as_dict())
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*EXPORT_COLUMNS, *(f"{n}_count" if n in lists else n for n in names)])
    for info, result in sessions:
        stored = _stored(result)
        measured = [stored["metrics"].get(name) for name in names]
        counts = [len(v) if isinstance(v, list) else v for v in measured]
        session = [info.session_id, info.learner, info.cohort, info.scenario, info.date]
        for i in stored["items"]:
            row = [*session, i["rubric"], i["item"], i["title"], i["score"], tier1.MAX_SCORE]
            row += [i["tier"], i["status"]]
            writer.writerow([_cell(value) for value in [*row, *counts]])
    return out.getvalue()


def _stored(result: Result) -> Mapping[str, Any]:
    return result.as_dict() if isinstance(result, Evaluation) else result


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return f"'{value}" if value.startswith(FORMULA_START) else value
    return str(value)
