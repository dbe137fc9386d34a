"""The web service: sign-in, cases, text rehearsals, reports and the director dashboard."""
