"""Evaluations run after the session, in the background: a worker thread takes finished
sessions from a queue kept in the database (so a restart loses none), evaluates them, and
records its progress where the learner's page reads it."""

import logging
import threading

from simpatient.content import CaseLibrary
from simpatient.dialogue.encoders import PhraseMatcher
from simpatient.evaluator import report, transcript
from simpatient.evaluator.evaluation import evaluate, rubrics_for
from simpatient.evaluator.tier2 import LLMJudge
from simpatient.store import EvaluationRecord, EvaluationStore, SessionStore

logger = logging.getLogger(__name__)


class EvaluationWorker:
    """One thread, one evaluation at a time: the evaluator shares the CPU with live
    sessions, so it must never take more than one core's worth."""

    def __init__(
        self,
        sessions: SessionStore,
        evaluations: EvaluationStore,
        library: CaseLibrary,
        matcher: PhraseMatcher,
        judge: LLMJudge | None = None,
        poll_s: float = 5.0,
    ) -> None:
        self.sessions, self.evaluations = sessions, evaluations
        self.library, self.matcher, self.judge = library, matcher, judge
        self.poll_s = poll_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def submit(self, session_id: str) -> int:
        """Queue the session's evaluation and wake the worker."""
        evaluation_id = self.evaluations.enqueue(session_id)
        self._wake.set()
        return evaluation_id

    def start(self) -> None:
        requeued = self.evaluations.requeue_interrupted()
        if requeued:
            logger.info("requeued %d evaluation(s) interrupted by the last shutdown", requeued)
        self._thread = threading.Thread(target=self._loop, name="evaluator", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the evaluation in hand (an interrupted one is requeued at the next start)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            if not self.run_once():
                self._wake.wait(self.poll_s)
                self._wake.clear()

    def run_once(self) -> bool:
        """Evaluate the oldest queued session; False when the queue is empty."""
        job = self.evaluations.claim_next()
        if job is None:
            return False
        try:
            self._run(job)
        except Exception as e:  # a failed evaluation must not stop the worker
            logger.exception("evaluation %d of session %s failed", job.id, job.session_id)
            self.evaluations.fail(job.id, f"{type(e).__name__}: {e}")
        return True

    def _run(self, job: EvaluationRecord) -> None:
        record = self.sessions.get(job.session_id)
        conversation = transcript.from_session(record)
        rubrics, warnings = rubrics_for(self.library, record.scenario_id, [])

        def progress(fraction: float, stage: str) -> None:
            self.evaluations.progress(job.id, fraction, stage)

        result = evaluate(conversation, rubrics, self.matcher, self.judge, progress, warnings)
        progress(0.97, "writing the report")
        title = self._title(record.scenario_id)
        self.evaluations.finish(job.id, result.as_dict(), report.render(result, title))
        logger.info("evaluated session %s: %s", record.id, result.totals())

    def _title(self, scenario_id: str) -> str:
        if scenario_id in self.library.cases:
            return self.library.case(scenario_id).scenario.title
        return scenario_id
