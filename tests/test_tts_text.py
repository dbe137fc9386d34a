"""Text the voice cannot say as written (numbers, doses, units, dates, times,
abbreviations) and cutting text into pieces for streaming."""

import pytest

from simpatient.speech.tts.normalise import cardinal, normalise, ordinal, year
from simpatient.speech.tts.sentences import MAX_WORDS, Splitter, split


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "zero"),
        (7, "seven"),
        (13, "thirteen"),
        (40, "forty"),
        (42, "forty-two"),
        (100, "one hundred"),
        (342, "three hundred forty-two"),
        (1000, "one thousand"),
        (1250, "one thousand two hundred fifty"),
        (2_000_005, "two million five"),
        (-3, "minus three"),
    ],
)
def test_cardinal(n: int, words: str) -> None:
    assert cardinal(n) == words


@pytest.mark.parametrize(
    ("n", "words"),
    [(1, "first"), (2, "second"), (3, "third"), (5, "fifth"), (12, "twelfth"), (20, "twentieth"),
     (21, "twenty-first"), (33, "thirty-third"), (100, "one hundredth"), (112, "one hundred twelfth")],
)  # fmt: skip
def test_ordinal(n: int, words: str) -> None:
    assert ordinal(n) == words


@pytest.mark.parametrize(
    ("n", "words"),
    [(1998, "nineteen ninety-eight"), (1905, "nineteen oh five"), (1900, "nineteen hundred"),
     (2000, "two thousand"), (2005, "two thousand five"), (2010, "twenty ten"),
     (2024, "twenty twenty-four")],
)  # fmt: skip
def test_year(n: int, words: str) -> None:
    assert year(n) == words


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        # doses and units, singular for exactly one
        ("I take 5 mg of warfarin.", "I take five milligrams of warfarin."),
        ("Just 1 mg at night.", "Just one milligram at night."),
        ("2.5mg twice", "two point five milligrams twice"),
        ("0.5 mcg", "zero point five micrograms"),
        ("500 ml of saline", "five hundred millilitres of saline"),
        ("10 mg/kg", "ten milligrams per kilogram"),
        ("sugar 7.8 mmol/L", "sugar seven point eight millimoles per litre"),
        ("a fever of 38.5°C", "a fever of thirty-eight point five degrees Celsius"),
        ("pulse 72 bpm", "pulse seventy-two beats per minute"),
        ("I weigh 180 lbs", "I weigh one hundred eighty pounds"),
        ("5-10 mg", "five to ten milligrams"),
        ("2-3 times a day", "two to three times a day"),
        ("3x a day", "three times a day"),
        ("take 1/2 a tablet", "take a half a tablet"),
        # percentages, money, big numbers
        ("45% better", "forty-five percent better"),
        ("a 2.5% chance", "a two point five percent chance"),
        ("$1,250.50", "one thousand two hundred fifty dollars fifty cents"),
        ("£5", "five pounds"),
        ("1,000,000 people", "one million people"),
        ("call 5551234567", "call five five five one two three four five six seven"),
        # blood pressure
        ("BP 140/90 mmHg", "B P one hundred forty over ninety millimetres of mercury"),
        # times
        ("at 10:30", "at ten thirty"),
        ("at 9:05 am", "at nine oh five ay em"),
        ("by 10:00", "by ten o'clock"),
        ("at 3pm", "at three pee em"),
        ("at 7 p.m.", "at seven pee em"),
        # dates and years
        ("on March 3rd, 2024", "on March third, twenty twenty-four"),
        ("on 3 March 2023", "on the third of March twenty twenty-three"),
        ("the 21st of June", "the twenty-first of June"),
        ("on 2024-12-25", "on December twenty-fifth, twenty twenty-four"),
        ("on 25/12/2024", "on December twenty-fifth, twenty twenty-four"),
        ("on 3/4/2024", "on March fourth, twenty twenty-four"),
        ("in 1998", "in nineteen ninety-eight"),
        ("since 2005", "since two thousand five"),
        ("in the 1990s", "in the nineteen nineties"),
        # ordinals
        ("my 2nd scan", "my second scan"),
        ("the 23rd time", "the twenty-third time"),
        # abbreviations
        ("a CT and two MRIs", "a C T and two M R Is"),
        ("an IV in the ICU", "an I V in the I C U"),
        ("went to A&E", "went to ay and E"),
        ("a PET scan", "a pet scan"),
        ("after COVID", "after covid"),
        ("Dr. Lee and Mrs. Shah", "Doctor Lee and Missus Shah"),
        ("e.g. tea", "for example tea"),
        ("ibuprofen PRN", "ibuprofen as needed"),
        ("metformin BID", "metformin twice a day"),
        ("OK, fine", "okay, fine"),
        ("I'm 62 yo", "I'm sixty-two years old"),
        ("24/7", "twenty-four seven"),
        # punctuation that should be a pause, and plain text untouched
        ("Well — I suppose", "Well, I suppose"),
        ("I'm scared. Is it cancer?", "I'm scared. Is it cancer?"),
        ("   lots   of   space ", "lots of space"),
    ],
)
def test_normalise(text: str, spoken: str) -> None:
    assert normalise(text) == spoken


def test_normalised_text_has_no_digits_or_units_left() -> None:
    text = (
        "On 12/03/2024 at 10:45am my BP was 150/95 and I took 2 x 500mg paracetamol, "
        "then 1 tablet at 22:10; my INR was 2.3 and my sats 94%."
    )
    spoken = normalise(text)
    assert not any(ch.isdigit() for ch in spoken), spoken
    assert "mg" not in spoken.split()
    assert "%" not in spoken


def test_split_whole_sentences_keeps_abbreviations_and_decimals() -> None:
    assert split("Dr. Lee said 2.5 mg. Is that bad? I don't know... Maybe!") == [
        "Dr. Lee said 2.5 mg.",
        "Is that bad?",
        "I don't know...",
        "Maybe!",
    ]


def test_split_first_clause_early() -> None:
    assert split("Well, I suppose so, doctor, if you say it is right. Yes.", 4) == [
        "Well, I suppose so,",
        "doctor, if you say it is right.",
        "Yes.",
    ]


def test_stream_waits_for_the_character_after_a_full_stop() -> None:
    splitter = Splitter(first_clause_words=0)
    assert splitter.push("It was 2.") == []  # may be "2.5"
    assert splitter.push("5 mg. And") == ["It was 2.5 mg."]
    assert splitter.flush() == ["And"]


def test_stream_character_by_character() -> None:
    splitter = Splitter(first_clause_words=4)
    out: list[str] = []
    for ch in "I had, um, the scan on Monday, and it was awful. Then Dr. Smith came.":
        out += splitter.push(ch)
    out += splitter.flush()
    assert out == [
        "I had, um, the scan on Monday,",
        "and it was awful.",
        "Then Dr. Smith came.",
    ]


def test_an_overlong_sentence_is_cut_at_a_clause() -> None:
    long = " ".join(["word"] * (MAX_WORDS + 10)) + ", and the end."
    pieces = split("Short start, " + long)
    assert all(len(p.split()) <= MAX_WORDS for p in pieces)
    assert " ".join(pieces).split() == ("Short start, " + long).split()
