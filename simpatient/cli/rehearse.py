"""`simpatient chat`: a text rehearsal in the terminal."""

import argparse
import logging
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from simpatient.content import (
    Case,
    CaseLibrary,
    Severity,
    check_paths,
    load_library,
)
from simpatient.settings import Settings

if TYPE_CHECKING:
    from simpatient.dialogue.conversation import Reply

logger = logging.getLogger("simpatient")


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
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


def resolve_case(settings: Settings, scenario: str) -> Case:
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
    case = resolve_case(settings, args.scenario)
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
