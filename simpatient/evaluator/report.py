"""The learner's report: one self-contained HTML page (jinja2 with autoescaping), printable
from the browser. Everything from a transcript is escaped: it is text, never markup."""

from importlib import resources
from typing import Any

from jinja2 import Environment, StrictUndefined

from simpatient.evaluator.evaluation import Evaluation

_env = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_TEMPLATE = _env.from_string(
    resources.files("simpatient.evaluator").joinpath("templates/report.html.j2").read_text()
)
CHART_W, CHART_H = 640, 160


def render(evaluation: Evaluation, title: str) -> str:
    return _TEMPLATE.render(
        title=title,
        e=evaluation,
        totals=evaluation.totals(),
        metrics=evaluation.metrics,
        next_steps=evaluation.next_steps(),
        chart=_timeline(evaluation),
        clock=_clock,
    )


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


def _timeline(evaluation: Evaluation) -> dict[str, Any] | None:
    """Trust and emotional intensity after each patient turn, as SVG polyline points."""
    states = [
        (t.index, t.state["state"])
        for t in evaluation.transcript.turns
        if t.speaker == "patient" and "state" in t.state
    ]
    if len(states) < 2:
        return None
    last = max(i for i, _ in states) or 1

    def points(key: str) -> str:
        return " ".join(
            f"{i / last * (CHART_W - 20) + 10:.1f},{(1 - s[key]) * (CHART_H - 20) + 10:.1f}"
            for i, s in states
        )

    return {
        "width": CHART_W,
        "height": CHART_H,
        "trust": points("trust"),
        "intensity": points("intensity"),
        "labels": [(i / last * (CHART_W - 20) + 10, s["emotion"]) for i, s in states],
    }
