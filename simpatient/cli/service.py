"""`simpatient serve` and `simpatient users`: the web service and its accounts."""

import argparse
import sys
from typing import TYPE_CHECKING

from simpatient.errors import SimPatientError
from simpatient.settings import Settings

if TYPE_CHECKING:
    from simpatient.store import AccountStore


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    serve = sub.add_parser("serve", help="run the web service (rehearsals, calls, reports)")
    serve.add_argument("--host", help="address to listen on (default: settings, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: settings, 8080)")
    serve.set_defaults(run=_serve)

    worker = sub.add_parser(
        "worker", help="serve patients in LiveKit rooms (LiveKit Agents: dev, start, ...)"
    )
    worker.add_argument("livekit", nargs=argparse.REMAINDER, help="LiveKit's worker command")
    worker.set_defaults(run=_worker)

    users = sub.add_parser("users", help="local accounts of the web service")
    users_sub = users.add_subparsers(required=True, metavar="ACTION")
    add = users_sub.add_parser("add", help="add an account (the password is read from stdin)")
    add.add_argument("username")
    add.add_argument("--role", choices=["learner", "educator", "director"], required=True)
    add.add_argument("--name", help="display name (default: the username)")
    add.add_argument(
        "--cohort",
        action="append",
        default=[],
        help="a learner's cohort; for staff, a cohort they oversee (repeatable; none: all)",
    )
    add.set_defaults(run=_users_add)
    users_sub.add_parser("list", help="list the accounts").set_defaults(run=_users_list)


def _serve(args: argparse.Namespace) -> int:
    from simpatient.server.main import serve

    settings = Settings.load()
    if args.host or args.port:
        server = settings.server.model_copy(
            update={k: v for k, v in (("host", args.host), ("port", args.port)) if v}
        )
        settings = settings.model_copy(update={"server": server})
    serve(settings)
    return 0


def _accounts() -> "AccountStore":
    from simpatient.store import AccountStore, open_engine

    return AccountStore(open_engine(Settings.load().store_url))


def _users_add(args: argparse.Namespace) -> int:
    from getpass import getpass

    from simpatient.store import Role

    if sys.stdin.isatty():
        password = getpass("password: ")
        if getpass("again: ") != password:
            raise SimPatientError("the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    account = _accounts().create(
        args.username, password, Role(args.role), args.name, tuple(args.cohort)
    )
    print(f"added {account.role.value} '{account.username}'")
    return 0


def _users_list(args: argparse.Namespace) -> int:
    for a in _accounts().all():
        print(f"{a.username:20} {a.role.value:9} {', '.join(a.cohorts) or '-':20} {a.display_name}")
    return 0


def _worker(args: argparse.Namespace) -> int:
    try:
        from simpatient.transport.livekit_worker import run_worker
    except ImportError as e:
        raise SimPatientError(
            f"the LiveKit worker needs livekit-agents ({e.name}): pip install -e '.[livekit]'"
        ) from e
    run_worker(args.livekit or ["start"])
    return 0
