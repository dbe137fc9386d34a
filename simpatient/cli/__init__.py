"""The ``simpatient`` command line: one module per group of commands."""

import argparse
import logging
import sys
from collections.abc import Sequence

from simpatient.cli import avatar, bench, content, evaluate, rehearse, service
from simpatient.errors import SimPatientError


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
    for group in (content, rehearse, evaluate, service, avatar, bench):
        group.register(sub)
    return parser
