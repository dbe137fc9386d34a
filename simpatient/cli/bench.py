"""`simpatient bench STAGE`: figures measured on this machine, printed."""

import argparse
import json
import sys
from pathlib import Path

from simpatient.content import (
    load_library,
)
from simpatient.errors import SimPatientError
from simpatient.settings import Settings


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    bench = sub.add_parser("bench", help="measure a stage with printed figures")
    stages = bench.add_subparsers(required=True, metavar="STAGE")
    dialogue = stages.add_parser("dialogue", help="the patient LLM over scripted turns")
    dialogue.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="ID",
        help="only these scenarios (repeatable; default: all)",
    )
    dialogue.add_argument("--json", type=Path, metavar="FILE", help="also write every turn")
    dialogue.set_defaults(run=_bench_dialogue)

    speech = stages.add_parser("speech", help="recognition on real speech; spoken turns end to end")
    speech.add_argument(
        "--set",
        type=Path,
        metavar="DIR",
        help="WAV files and ref.tsv (default: tests/data/speech in the library folder)",
    )
    speech.add_argument("--scenario", default="maggie-recurrence-bbn", metavar="ID")
    speech.add_argument("--json", type=Path, metavar="FILE", help="also write every figure")
    speech.set_defaults(run=_bench_speech)

    evaluation = stages.add_parser(
        "evaluation", help="the rubric evaluator against the labelled set"
    )
    evaluation.add_argument(
        "--transcript",
        action="append",
        default=[],
        metavar="ID",
        help="only these labelled transcripts (repeatable; default: all)",
    )
    evaluation.add_argument(
        "--judge-url",
        metavar="URL",
        help="also run tier 2, twice, against this OpenAI-compatible API root "
        "(default: SIMPATIENT_JUDGE__* when set, else tier 1 only)",
    )
    evaluation.add_argument("--judge-model", metavar="NAME", help="the served model's name")
    evaluation.add_argument(
        "--judge-format",
        choices=["json_schema", "json_object"],
        help="json_object for llama-cpp-python's server (default: settings, json_schema)",
    )
    evaluation.add_argument("--json", type=Path, metavar="FILE", help="also write every figure")
    evaluation.set_defaults(run=_bench_evaluation)

    call = stages.add_parser("call", help="voice-to-voice over WebRTC in Chromium")
    call.add_argument("--scenario", default="maggie-recurrence-bbn", metavar="ID")
    call.add_argument("--sessions", type=int, default=1, help="calls at once (one process)")
    call.add_argument("--json", type=Path, metavar="FILE", help="also write every turn")
    call.set_defaults(run=_bench_call)

    avatar = stages.add_parser("avatar", help="the patient's face: cost, pace, lip sync")
    avatar.add_argument("--persona", default="jamal-washington", metavar="ID")
    avatar.add_argument("--seconds", type=float, default=10.0, help="real-time run length")
    avatar.add_argument("--json", type=Path, metavar="FILE", help="also write the figures")
    avatar.set_defaults(run=_bench_avatar)


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


def _bench_speech(args: argparse.Namespace) -> int:
    import asyncio

    from simpatient.pipeline import bench_voice
    from simpatient.pipeline.session_factory import load_runtime
    from simpatient.speech import bench_asr
    from simpatient.speech.tts import create_backend

    settings = Settings.load()
    library = load_library(settings.library)
    runtime = load_runtime(settings, speech=True)
    assert runtime.asr is not None
    print("recognition on the real-speech set (offline, then streamed in real time):")
    speech_set = args.set or settings.library / "tests" / "data" / "speech"
    asr = bench_asr.run(runtime.asr, settings, speech_set, realtime=True)
    for key, value in asr.summary().items():
        print(f"  {key:26} {value}")
    # the clinician speaks with a male neural voice; every shipped patient voice differs
    # from it in gender or engine
    learner = create_backend("piper", settings.tts, settings.models_dir)
    learner.load()
    print(f"\nspoken turns with the patient of {args.scenario}, through the whole pipeline:")
    report = asyncio.run(bench_voice.run(runtime, library.case(args.scenario), learner))
    for key, value in report.summary().items():
        print(f"  {key:26} {value}")
    if args.json:
        figures = {
            "recognition": asr.summary(),
            "utterances": [vars(u) for u in asr.utterances],
            "pipeline": report.summary(),
            "turns": report.records,
        }
        args.json.write_text(json.dumps(figures, indent=1))
    return 0


def _bench_evaluation(args: argparse.Namespace) -> int:
    from simpatient.dialogue.encoders import MiniLMEncoder, PhraseMatcher
    from simpatient.evaluator import bench
    from simpatient.evaluator.tier2 import LLMJudge
    from simpatient.models import locate
    from simpatient.settings import JudgeSettings

    settings = Settings.load()
    library = load_library(settings.library)
    labelled = bench.load_set(settings.library / "evaluation" / "labelled")
    problems = labelled.problems(library)
    if problems:
        raise SimPatientError("the labelled set is inconsistent:\n  " + "\n  ".join(problems))
    judge = None
    if args.judge_url or settings.judge is not None:
        base = settings.judge or JudgeSettings(model="judge", base_url=args.judge_url)
        overrides = {"base_url": args.judge_url, "model": args.judge_model}
        overrides["response_format"] = args.judge_format
        judge_settings = base.model_copy(update={k: v for k, v in overrides.items() if v})
        judge = LLMJudge(judge_settings)
        judge.load()
        print(f"tier 2: {judge_settings.model} at {judge_settings.base_url}", file=sys.stderr)
    encoder = MiniLMEncoder(locate("minilm-l6-v2", settings.models_dir))
    encoder.load()
    try:
        report = bench.run(labelled, library, PhraseMatcher(encoder), judge, args.transcript)
    except KeyError as e:
        raise SimPatientError(str(e.args[0])) from None
    summary = report.summary()
    print(bench.describe(summary))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1))
    return 0


def _bench_avatar(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from simpatient.avatar import bench

    settings = Settings.load()
    report = bench.run(load_library(settings.library), settings, args.persona, args.seconds)
    for key, value in asdict(report).items():
        print(f"  {key:22} {value}")
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=1))
    return 0 if report.within_itu else 1


def _bench_call(args: argparse.Namespace) -> int:
    from simpatient.pipeline import bench_call
    from simpatient.pipeline.session_factory import load_runtime
    from simpatient.speech.tts import create_backend

    settings = Settings.load()
    runtime = load_runtime(settings, speech=True)
    learner = create_backend("piper", settings.tts, settings.models_dir)
    learner.load()
    report = bench_call.run(settings, runtime, args.scenario, learner, args.sessions)
    for key, value in report.summary().items():
        print(f"  {key:28} {value}")
    if args.json:
        figures = {
            "summary": report.summary(),
            "browser_voice_to_voice_s": report.voice_to_voice_s,
            "server_turns": report.server_records,
        }
        args.json.write_text(json.dumps(figures, indent=1))
    return 0
