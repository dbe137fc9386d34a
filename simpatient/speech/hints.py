"""Vocabulary hints for the recogniser from a case: the names, drugs, tests and
conditions the learner is likely to say, which Whisper otherwise mishears ("FOLFOX",
"Siobhan", "metastases")."""

import re

from simpatient.content import Case
from simpatient.speech.asr import VocabularyHints

#: Endings of drug, test and condition names (oncology, cardiology, general medicine).
_MEDICAL = re.compile(
    r"\w+(?:mab|nib|platin|taxel|rubicin|statin|pril|sartan|olol|semide|parin|xaban|"
    r"mycin|cillin|azole|sone|pam|lam|oma|itis|emia|aemia|osis|ectomy|otomy|scopy|"
    r"opathy|plasia|stases|stasis|therapy)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
#: Capitalised words that are ordinary English, not names worth a hint.
_COMMON = frozenset(
    {
        "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
        "Sundays", "Mrs", "January", "February", "March", "April", "June", "July",
        "August", "September", "October", "November", "December",
    }
)  # fmt: skip


def _proper_names(text: str) -> list[str]:
    """Runs of capitalised words not at a sentence start ("San José", "FOLFOX")."""
    runs: list[list[str]] = []
    previous_end = 0
    for m in _WORD.finditer(text):
        word = re.sub(r"['’]s$", "", m.group(0))
        before = text[: m.start()].rstrip()
        sentence_start = not before or before[-1] in '.!?:"“('
        if (
            word[0].isupper()
            and not sentence_start
            and word not in _COMMON
            and (len(word) > 2 or word.isupper())
        ):
            if runs and text[previous_end : m.start()] == " ":
                runs[-1].append(word)
            else:
                runs.append([word])
            previous_end = m.end()
    return [" ".join(run) for run in runs]


def hints_from_case(case: Case) -> VocabularyHints:
    """Names first (they are the likeliest to be misheard), then acronyms, drugs and
    conditions from the case text the learner reads and the patient's facts."""
    persona, scenario = case.persona, case.scenario
    names = [persona.name, *(persona.preferred_name or "").split()]
    texts = [
        persona.social.family,
        scenario.title,
        scenario.stage_of_care,
        scenario.learner.brief,
        *(fact.statement for fact in scenario.facts),
    ]
    found: list[str] = []
    for text in texts:
        found += _proper_names(text)
    for text in texts:
        found += [m.group(0).lower() for m in _MEDICAL.finditer(text) if len(m.group(0)) > 6]
    return VocabularyHints(tuple(dict.fromkeys([*names, *found])))
