"""`simpatient validate` and `simpatient models`: the case library and the model files."""

import argparse
import sys
import time
from pathlib import Path

from simpatient.content import (
    CaseLibrary,
    Problem,
    Severity,
    check_paths,
    load_library,
)
from simpatient.models import CATALOGUE, fetch, spec_for, verify
from simpatient.settings import Settings


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
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
