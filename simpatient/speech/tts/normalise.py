"""Written text to the words a person would say: "5 mg" -> "five milligrams".

Every engine reads digits and abbreviations its own way (flite says "mg" as a word,
espeak spells "mmHg"), so the text is spelled out once, before any engine sees it:
numbers, ordinals, decimals, ranges, doses and units, percentages, money, times, dates,
years, blood pressures, fractions, and the abbreviations a patient or clinician uses.

Ambiguous slashed dates are read month first (US order: most personas are American)
unless the first number cannot be a month ("25/12/2024").
"""

import re
from collections.abc import Callable

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = ((1_000_000_000, "billion"), (1_000_000, "million"), (1000, "thousand"))
_ORDINAL_WORDS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_MONTH_RE = "|".join(MONTHS + [m[:3] for m in MONTHS] + ["Sept"])


def cardinal(n: int) -> str:
    """An integer in words, the American way: 342 -> "three hundred forty-two"."""
    if n < 0:
        return "minus " + cardinal(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else "-" + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + (" " + cardinal(rest) if rest else "")
    for size, word in _SCALES:
        if n >= size:
            head, rest = divmod(n, size)
            return f"{cardinal(head)} {word}" + (" " + cardinal(rest) if rest else "")
    raise AssertionError("unreachable")  # pragma: no cover - n >= 1000 matches a scale


def ordinal(n: int) -> str:
    """An integer as an ordinal: 21 -> "twenty-first"."""
    words = cardinal(n)
    head, sep, last = words.rpartition("-" if words.rfind("-") > words.rfind(" ") else " ")
    if last in _ORDINAL_WORDS:
        last = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return head + sep + last


def year(n: int) -> str:
    """A year as people say it: 1998 -> "nineteen ninety-eight", 2005 -> "two thousand
    five", 2024 -> "twenty twenty-four"."""
    if 2000 <= n < 2010 or n % 1000 == 0:
        return cardinal(n)
    head, tail = divmod(n, 100)
    if tail == 0:
        return cardinal(head) + " hundred"
    return f"{cardinal(head)} {'oh ' + _ONES[tail] if tail < 10 else cardinal(tail)}"


def decimal(text: str) -> str:
    """A written number ("1,500", "2.5", "0.25") in words; digits after the point are
    read one by one ("two point five")."""
    whole, _, frac = text.replace(",", "").partition(".")
    words = cardinal(int(whole or "0"))
    if frac:
        words += " point " + " ".join(_ONES[int(d)] for d in frac)
    return words


_NUM = r"\d+(?:,\d{3})*(?:\.\d+)?"

#: Units after a number: (singular, plural).
UNITS: dict[str, tuple[str, str]] = {
    "mg": ("milligram", "milligrams"),
    "mcg": ("microgram", "micrograms"),
    "µg": ("microgram", "micrograms"),
    "ug": ("microgram", "micrograms"),
    "g": ("gram", "grams"),
    "kg": ("kilogram", "kilograms"),
    "ml": ("millilitre", "millilitres"),
    "mL": ("millilitre", "millilitres"),
    "l": ("litre", "litres"),
    "L": ("litre", "litres"),
    "mmHg": ("millimetre of mercury", "millimetres of mercury"),
    "mmol/L": ("millimole per litre", "millimoles per litre"),
    "mmol/l": ("millimole per litre", "millimoles per litre"),
    "mg/dL": ("milligram per decilitre", "milligrams per decilitre"),
    "mg/dl": ("milligram per decilitre", "milligrams per decilitre"),
    "mg/kg": ("milligram per kilogram", "milligrams per kilogram"),
    "mmol": ("millimole", "millimoles"),
    "bpm": ("beat per minute", "beats per minute"),
    "mm": ("millimetre", "millimetres"),
    "cm": ("centimetre", "centimetres"),
    "km": ("kilometre", "kilometres"),
    "lb": ("pound", "pounds"),
    "lbs": ("pound", "pounds"),
    "oz": ("ounce", "ounces"),
    "IU": ("unit", "units"),
    "iu": ("unit", "units"),
    "°C": ("degree Celsius", "degrees Celsius"),
    "°F": ("degree Fahrenheit", "degrees Fahrenheit"),
    "°": ("degree", "degrees"),
    "%": ("percent", "percent"),
    "hr": ("hour", "hours"),
    "hrs": ("hour", "hours"),
    "h": ("hour", "hours"),
    "min": ("minute", "minutes"),
    "mins": ("minute", "minutes"),
    "wk": ("week", "weeks"),
    "wks": ("week", "weeks"),
    "yo": ("year old", "years old"),
    "y/o": ("year old", "years old"),
}
_UNIT_RE = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))

#: Initialisms read letter by letter ("C T"); engines spell most of them already, but not
#: all alike, and a lone "A" is read as the article.
INITIALISMS = frozenset(
    [
        "CT",
        "MRI",
        "IV",
        "BP",
        "ECG",
        "EKG",
        "EEG",
        "ICU",
        "GP",
        "ER",
        "ED",
        "HIV",
        "COPD",
        "DNR",
        "DNAR",
        "CPR",
        "NHS",
        "MS",
        "ALS",
        "UTI",
        "GI",
        "ENT",
        "IBS",
        "ADHD",
        "PTSD",
        "OCD",
        "TB",
        "HDL",
        "LDL",
        "INR",
        "PSA",
        "CBC",
        "FBC",
        "IVF",
        "OT",
        "BMI",
        "ACE",
        "DVT",
        "PE",
        "MI",
        "CKD",
        "GERD",
        "HRT",
        "SSRI",
        "TIA",
        "CVA",
        "ICD",
        "ECT",
        "DKA",
        "ADL",
        "CNS",
        "PPE",
        "IUD",
        "STI",
        "STD",
        "ATM",
        "TV",
        "PhD",
        "MD",
        "RN",
        "NP",
    ]
)
#: Abbreviations said as words or phrases.
WORDS: dict[str, str] = {
    "A&E": "ay and E",
    "PET": "pet",
    "COVID": "covid",
    "COVID-19": "covid nineteen",
    "CPAP": "see pap",
    "BiPAP": "bye pap",
    "NSAID": "en said",
    "NSAIDs": "en saids",
    "BID": "twice a day",
    "bid": "twice a day",
    "b.d.": "twice a day",
    "TID": "three times a day",
    "tid": "three times a day",
    "tds": "three times a day",
    "QID": "four times a day",
    "qid": "four times a day",
    "PRN": "as needed",
    "prn": "as needed",
    "PO": "by mouth",
    "OK": "okay",
    "Dr.": "Doctor",
    "Dr": "Doctor",
    "Mr.": "Mister",
    "Mr": "Mister",
    "Mrs.": "Missus",
    "Mrs": "Missus",
    "Ms.": "Miz",
    "e.g.": "for example",
    "i.e.": "that is",
    "etc.": "et cetera",
    "vs.": "versus",
    "vs": "versus",
    "approx.": "approximately",
    "w/o": "without",
    "w/": "with",
    "&": "and",
    "+": "plus",
    "24/7": "twenty-four seven",
}
_FRACTIONS = {
    "1/2": "a half",
    "1/3": "a third",
    "2/3": "two thirds",
    "1/4": "a quarter",
    "3/4": "three quarters",
    "½": "a half",
    "¼": "a quarter",
    "¾": "three quarters",
}


def _letters(word: str) -> str:
    # "A" alone is read as the article ("uh"), so it is written as the letter's name.
    return " ".join("ay" if ch == "A" else ch.upper() for ch in word if ch.isalpha())


def _amount(value: str, singular: str, plural: str) -> str:
    return f"{decimal(value)} {singular if value in ('1', '1.0') else plural}"


def _unit(m: re.Match[str]) -> str:
    singular, plural = UNITS[m.group(2)]
    return _amount(m.group(1), singular, plural)


def _money(m: re.Match[str]) -> str:
    names = {"$": ("dollar", "dollars", "cents"), "£": ("pound", "pounds", "pence")}
    one, many, small = names[m.group(1)]
    whole, _, cents = m.group(2).replace(",", "").partition(".")
    words = _amount(whole, one, many)
    if cents and int(cents):
        words += f" {cardinal(int(cents))}" + ("" if m.group(1) == "£" else f" {small}")
    return words


def _clock(m: re.Match[str]) -> str:
    hour, minute, half = int(m.group(1)), int(m.group(2)), (m.group(3) or "").lower()
    suffix = f" {_half_day(half)}" if half else ""
    if minute == 0:
        return cardinal(hour) + (suffix or " o'clock")
    spoken = f"oh {_ONES[minute]}" if minute < 10 else cardinal(minute)
    return f"{cardinal(hour)} {spoken}{suffix}"


def _hour(m: re.Match[str]) -> str:
    return f"{cardinal(int(m.group(1)))} {_half_day(m.group(2))}"


def _half_day(text: str) -> str:
    # Letter names, not "a m": a lone "a" is read as the article.
    return "ay em" if text.lower().startswith("a") else "pee em"


def _month(name: str) -> str:
    return next(full for full in MONTHS if full.lower().startswith(name.lower()[:3]))


def _date_md(m: re.Match[str]) -> str:
    words = f"{_month(m.group(1))} {ordinal(int(m.group(2)))}"
    return words + (f", {year(int(m.group(3)))}" if m.group(3) else "")


def _date_dm(m: re.Match[str]) -> str:
    words = f"the {ordinal(int(m.group(1)))} of {_month(m.group(2))}"
    return words + (f" {year(int(m.group(3)))}" if m.group(3) else "")


def _numeric_date(first: int, second: int, yr: int | None) -> str | None:
    month, day = (first, second) if first <= 12 else (second, first)
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    words = f"{MONTHS[month - 1]} {ordinal(day)}"
    return words + (f", {year(yr)}" if yr is not None else "")


def _slashed_date(m: re.Match[str]) -> str:
    yr = int(m.group(3))
    yr += 2000 if yr < 100 else 0
    return _numeric_date(int(m.group(1)), int(m.group(2)), yr) or m.group(0)


def _iso_date(m: re.Match[str]) -> str:
    return _numeric_date(int(m.group(2)), int(m.group(3)), int(m.group(1))) or m.group(0)


def _abbreviation(m: re.Match[str]) -> str:
    word = m.group(0)
    if word in WORDS:
        return WORDS[word]
    stem, plural = (
        (word[:-1], "s")
        if word.endswith("s") and word[:-1] in INITIALISMS
        else (
            word,
            "",
        )
    )
    return _letters(stem) + plural


_Rule = tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]
_ABBREVIATIONS = sorted(set(WORDS) | INITIALISMS | {i + "s" for i in INITIALISMS}, key=len)

RULES: list[_Rule] = [
    (re.compile(r"[“”]"), '"'),
    (re.compile(r"[‘’]"), "'"),
    (re.compile(r"\s*—\s*|\s+–\s+"), ", "),
    (re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b"), _iso_date),
    (re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})\b"), _slashed_date),
    (re.compile(r"\b24/7\b"), "twenty-four seven"),
    (re.compile(r"(?<![\d/])(1/2|1/3|2/3|1/4|3/4)(?![\d/])|[½¼¾]"), lambda m: _FRACTIONS[m[0]]),
    # A blood pressure: 120/80 (a systolic over a diastolic, not a date).
    (re.compile(r"\b(\d{2,3})/(\d{2,3})\b"), lambda m: f"{m[1]} over {m[2]}"),
    (re.compile(rf"\b({_MONTH_RE})\.? (\d{{1,2}})(?:st|nd|rd|th)?(?:,? (\d{{4}}))?\b"), _date_md),
    (
        re.compile(
            rf"(?:\b[Tt]he )?\b(\d{{1,2}})(?:st|nd|rd|th)? (?:of )?({_MONTH_RE})\b(?:,? (\d{{4}}))?"
        ),
        _date_dm,
    ),
    (re.compile(r"\b(\d{1,2}):(\d{2})\s*([ap]\.?m\.?)?(?![\w:])", re.I), _clock),
    (re.compile(r"\b(\d{1,2})\s*([ap]\.?m\.?)(?!\w)", re.I), _hour),
    (
        re.compile(
            r"\b(in|since|from|until|till|by|of|year|circa|before|after) (1[89]\d\d|20\d\d)\b"
        ),
        lambda m: f"{m[1]} {year(int(m[2]))}",
    ),
    (re.compile(r"\b(1[89][1-9]0|20[1-9]0)s\b"), lambda m: year(int(m[1]))[:-1] + "ies"),
    (re.compile(r"([$£])(\d+(?:,\d{3})*(?:\.\d{1,2})?)"), _money),
    (re.compile(rf"\b({_NUM})\s?(?:-|–|to)\s?({_NUM})\b"), lambda m: f"{m[1]} to {m[2]}"),
    (re.compile(rf"\b({_NUM})\s?({_UNIT_RE})(?![\w/])"), _unit),
    (re.compile(rf"\b({_NUM})\s?x\b"), lambda m: f"{decimal(m[1])} times"),
    (re.compile(r"\b(\d+)(?:st|nd|rd|th)\b"), lambda m: ordinal(int(m[1]))),
    (re.compile(r"\b\d{7,}\b"), lambda m: " ".join(_ONES[int(d)] for d in m[0])),
    (re.compile(rf"(?<![\w.]){_NUM}"), lambda m: decimal(m[0])),
    (
        re.compile(
            "|".join(rf"(?<![\w&]){re.escape(a)}(?![\w&])" for a in reversed(_ABBREVIATIONS))
        ),
        _abbreviation,
    ),
    (re.compile(r"\s+"), " "),
]


def normalise(text: str) -> str:
    """``text`` with numbers, units, dates, times and abbreviations spelled out as
    spoken English; whitespace collapsed."""
    for pattern, replacement in RULES:
        text = pattern.sub(replacement, text)
    return text.strip()
