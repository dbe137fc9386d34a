"""Feedback after a session: rubric scores with the moments that earned them."""
