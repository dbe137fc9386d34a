"""The patient's state: how they feel, how far they trust and understand, what they have
been told they may share and what they have said. Updated after every learner turn; the
voice, the avatar and the evaluator read the recorded states."""

from dataclasses import dataclass, replace
from typing import Any

from simpatient.content.scenario import Emotion, Scenario, TriggerEffect

#: Intensity a new emotion starts from before a trigger's own change is added.
NEW_EMOTION_BASE = 0.4


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


@dataclass(frozen=True, slots=True)
class PatientState:
    emotion: Emotion
    intensity: float
    trust: float
    understanding: float
    unlocked: frozenset[str] = frozenset()  # guarded facts the learner has earned
    disclosed: frozenset[str] = frozenset()  # facts the patient has actually put into words
    told: frozenset[str] = frozenset()  # facts unknown to the patient that the learner told

    @classmethod
    def initial(cls, scenario: Scenario) -> "PatientState":
        start = scenario.emotional
        return cls(start.start.label, start.start.intensity, start.trust, start.understanding)

    def apply(self, effect: TriggerEffect) -> "PatientState":
        """The state after a trigger: a new emotion starts from a base intensity, the same
        emotion intensifies; trust and understanding move by the effect's deltas."""
        if effect.emotion is not None and effect.emotion is not self.emotion:
            emotion, intensity = effect.emotion, _clamp(NEW_EMOTION_BASE + effect.intensity)
        else:
            emotion, intensity = self.emotion, _clamp(self.intensity + effect.intensity)
        return replace(
            self,
            emotion=emotion,
            intensity=intensity,
            trust=_clamp(self.trust + effect.trust),
            understanding=_clamp(self.understanding + effect.understanding),
        )

    def describe(self) -> str:
        """The emotion in words for the prompt: 'quite anxious', 'calm'."""
        if self.emotion is Emotion.neutral:
            return "calm"
        degree = (
            "slightly" if self.intensity < 0.34 else "quite" if self.intensity < 0.67 else "very"
        )
        return f"{degree} {self.emotion.value}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "emotion": self.emotion.value,
            "intensity": round(self.intensity, 3),
            "trust": round(self.trust, 3),
            "understanding": round(self.understanding, 3),
            "unlocked": sorted(self.unlocked),
            "disclosed": sorted(self.disclosed),
            "told": sorted(self.told),
        }
