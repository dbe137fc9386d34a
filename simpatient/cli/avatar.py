"""`simpatient avatar`: look at the patient's face."""

import argparse
from pathlib import Path

from simpatient.cli.rehearse import resolve_case
from simpatient.content import (
    load_library,
)
from simpatient.errors import SimPatientError
from simpatient.settings import Settings


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    avatar = sub.add_parser("avatar", help="look at the patient's face")
    avatar_sub = avatar.add_subparsers(required=True, metavar="ACTION")
    preview = avatar_sub.add_parser("preview", help="an MP4 of the patient saying TEXT")
    preview.add_argument("scenario", help="scenario id, or path to a scenario file")
    preview.add_argument("text", help="what the patient says")
    preview.add_argument("--out", type=Path, default=Path("."), metavar="DIR")
    preview.set_defaults(run=_avatar_preview)
    sheet = avatar_sub.add_parser("sheet", help="contact sheets of mouth shapes and expressions")
    sheet.add_argument("personas", nargs="+", metavar="PERSONA")
    sheet.add_argument("--out", type=Path, default=Path("."), metavar="DIR")
    sheet.set_defaults(run=_avatar_sheet)


def _avatar_preview(args: argparse.Namespace) -> int:
    from simpatient.avatar.preview import preview

    settings = Settings.load()
    video, sheet = preview(resolve_case(settings, args.scenario), args.text, args.out, settings)
    print(f"video: {video}\ncontact sheet: {sheet}")
    return 0


def _avatar_sheet(args: argparse.Namespace) -> int:
    from simpatient.avatar.media import contact_sheet, save_png
    from simpatient.avatar.preview import open_renderer

    settings = Settings.load()
    library = load_library(settings.library)
    for persona_id in args.personas:
        if persona_id not in library.personas:
            known = ", ".join(library.personas)
            raise SimPatientError(f"no persona {persona_id!r}; known: {known}")
        renderer = open_renderer(library.personas[persona_id], settings.avatar)
        print(save_png(args.out / f"{persona_id}.png", contact_sheet(renderer)))
    return 0
