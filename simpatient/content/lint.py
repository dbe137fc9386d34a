"""Warnings for likely authoring mistakes that the schema alone cannot catch."""

import re
from collections.abc import Callable, Iterator

from simpatient.content.persona import AgeBand, FaithPractice, Persona
from simpatient.content.problems import Problem, Severity, dotted
from simpatient.content.scenario import Scenario, Visibility
from simpatient.content.yamlfile import YamlDocument

#: Inclusive age range each voice age band stands for.
AGE_BANDS = {
    AgeBand.young_adult: (16, 29),
    AgeBand.adult: (30, 49),
    AgeBand.middle_aged: (50, 64),
    AgeBand.older: (65, 79),
    AgeBand.elderly: (80, 120),
}
#: An opening line is spoken in one breath or two.
MAX_OPENING_SENTENCES = 2
MAX_OPENING_WORDS = 40
MIN_BRIEF_WORDS = 15

Warn = Callable[[tuple[str | int, ...], str], Problem]


def _warner(doc: YamlDocument, prefix: tuple[str | int, ...] = ()) -> Warn:
    def warn(loc: tuple[str | int, ...], message: str) -> Problem:
        full = prefix + loc
        line, col = doc.position(full)
        return Problem(doc.path, line, col, dotted(full), message, Severity.warning)

    return warn


def lint_persona(
    persona: Persona, doc: YamlDocument, prefix: tuple[str | int, ...] = ()
) -> Iterator[Problem]:
    warn = _warner(doc, prefix)
    faith = persona.beliefs.faith
    if faith.tradition is None and faith.practice in (
        FaithPractice.devout,
        FaithPractice.practising,
    ):
        yield warn(
            ("beliefs", "faith", "practice"),
            f"practice is '{faith.practice.value}' but no faith tradition is named",
        )
    if faith.tradition is not None and faith.practice is FaithPractice.not_religious:
        yield warn(
            ("beliefs", "faith", "tradition"),
            f"tradition '{faith.tradition}' contradicts practice 'not_religious' "
            "(use 'nominal' for a cultural affiliation)",
        )
    culture = persona.culture
    languages = [lang.lower() for lang in culture.languages]
    if culture.preferred_language.lower() not in languages:
        yield warn(
            ("culture", "preferred_language"),
            f"'{culture.preferred_language}' is not among the persona's languages",
        )
    if culture.interpreter_needed and culture.preferred_language.lower() == "english":
        yield warn(
            ("culture", "interpreter_needed"),
            "an interpreter is needed but the preferred language is English",
        )
    if persona.appearance is None:
        yield warn(("id",), "no appearance: the avatar will draw a plain default face")
    low, high = AGE_BANDS[persona.voice.age_band]
    if not low <= persona.age <= high:
        yield warn(
            ("voice", "age_band"),
            f"voice age band '{persona.voice.age_band.value}' ({low}-{high}) "
            f"does not fit age {persona.age}",
        )


def lint_scenario(scenario: Scenario, doc: YamlDocument) -> Iterator[Problem]:
    warn = _warner(doc)
    guarded = 0
    for i, fact in enumerate(scenario.facts):
        if fact.visibility is not Visibility.guarded:
            continue
        guarded += 1
        if fact.unlock is None:
            yield warn(
                ("facts", i, "visibility"),
                f"guarded fact '{fact.id}' has no unlock condition, so it can never be shared",
            )
        elif not fact.unlock.example_phrases:
            yield warn(
                ("facts", i, "unlock"),
                f"guarded fact '{fact.id}' has no example phrases; the unlock check needs a few",
            )
    if guarded == 0:
        yield warn(("facts",), "no guarded fact: the learner has nothing to earn")
    for i, trigger in enumerate(scenario.emotional.triggers):
        if not trigger.examples:
            yield warn(
                ("emotional", "triggers", i, "examples"),
                f"trigger '{trigger.id}' has no example phrasings",
            )
    if len(scenario.learner.brief.split()) < MIN_BRIEF_WORDS:
        yield warn(("learner", "brief"), "the brief is very short; tell the learner their task")
    opening = scenario.opening_line
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", opening) if s]
    if len(sentences) > MAX_OPENING_SENTENCES or len(opening.split()) > MAX_OPENING_WORDS:
        yield warn(
            ("opening_line",),
            f"opening line has {len(sentences)} sentences and {len(opening.split())} words; "
            f"a spoken opening is at most {MAX_OPENING_SENTENCES} short sentences",
        )
