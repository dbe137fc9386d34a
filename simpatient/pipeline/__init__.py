"""Orchestration of a session: turns flowing from the learner to the patient and back."""
