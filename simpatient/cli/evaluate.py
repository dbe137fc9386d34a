"""`simpatient evaluate`: score a session or a transcript file, write the report."""

import argparse
import sys
from pathlib import Path

from simpatient.content import (
    load_library,
)
from simpatient.errors import SimPatientError
from simpatient.settings import Settings


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    evaluate = sub.add_parser("evaluate", help="score a session or a transcript file")
    evaluate.add_argument("target", help="a session id from the store, or a transcript file")
    evaluate.add_argument(
        "--rubric",
        action="append",
        default=[],
        metavar="ID",
        help="rubric(s) to score with (default: the scenario's, or the general one for a file)",
    )
    evaluate.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="where to write the HTML report (default: feedback-<name>.html)",
    )
    evaluate.add_argument(
        "--judge",
        action="store_true",
        help="also score with the tier-2 LLM judge (SIMPATIENT_JUDGE__*)",
    )
    evaluate.set_defaults(run=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    from simpatient.dialogue.encoders import MiniLMEncoder, PhraseMatcher
    from simpatient.evaluator import report, transcript
    from simpatient.evaluator.evaluation import evaluate, rubrics_for
    from simpatient.models import locate
    from simpatient.store import SessionStore

    settings = Settings.load()
    library = load_library(settings.library)
    path = Path(args.target)
    if path.exists():
        record = transcript.from_file(path)
        name = path.stem
    else:
        store = SessionStore.open(settings.store_url)
        try:
            record = transcript.from_session(store.get(args.target))
        except LookupError:
            raise SimPatientError(
                f"'{args.target}' is neither a file nor a session id in {settings.store_url}"
            ) from None
        name = args.target[:8]
    rubrics, warnings = rubrics_for(library, record.scenario_id, args.rubric)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    encoder = MiniLMEncoder(locate("minilm-l6-v2", settings.models_dir))
    encoder.load()
    judge = None
    if args.judge:
        from simpatient.evaluator.tier2 import LLMJudge

        if settings.judge is None:
            raise SimPatientError(
                "no judge configured: set SIMPATIENT_JUDGE__MODEL and SIMPATIENT_JUDGE__BASE_URL"
            )
        judge = LLMJudge(settings.judge)
        judge.load()
    result = evaluate(record, rubrics, PhraseMatcher(encoder), judge, warnings=warnings)
    for rubric_id, total in result.totals().items():
        print(
            f"{rubric_id}: {total['points']}/{total['possible']}"
            f" ({total['judge_errors']} judge errors)"
        )
    for item in result.items:
        mark = (
            "judge error"
            if item.status == "judge_error"
            else ("-" if item.score is None else f"{item.score}/2")
        )
        differs = item.tier == 2 and item.tier1_score != item.score
        tier1 = f" (tier 1: {item.tier1_score})" if differs else ""
        print(f"  {item.rubric}/{item.item}: {mark}{tier1}  {item.rationale}")
    title = record.scenario_id or name
    out = args.out or Path(f"feedback-{name}.html")
    out.write_text(report.render(result, title), encoding="utf-8")
    print(f"report: {out}", file=sys.stderr)
    return 0
