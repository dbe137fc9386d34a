"""A learner's report prints to PDF in headless Chromium (the system browser, driven by
Playwright), as the README promises."""

import re
import shutil
from pathlib import Path

import pytest

from simpatient.content import CaseLibrary
from simpatient.dialogue.encoders import LexicalEncoder, PhraseMatcher
from simpatient.evaluator import report
from simpatient.evaluator.evaluation import evaluate
from simpatient.evaluator.transcript import from_file

CHROMIUM = shutil.which("chromium")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (make setup)")
def test_the_report_prints_to_pdf(library: CaseLibrary, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    transcript = tmp_path / "t.txt"
    transcript.write_text(
        "Patient: Morning.\n"
        "Doctor: Before we start, what do you understand about why we did the scan?\n"
        "Patient: I think it might be back.\n"
        "Doctor: I'm afraid it is back. I can see this is a shock. Take your time.\n"
    )
    result = evaluate(
        from_file(transcript), [library.rubrics["spikes-bbn"]], PhraseMatcher(LexicalEncoder())
    )
    page_file = tmp_path / "report.html"
    page_file.write_text(report.render(result, "PDF check"), encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(page_file.as_uri())
        pdf = page.pdf(format="A4")
        browser.close()
    assert pdf.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 2  # items and transcript: pages
