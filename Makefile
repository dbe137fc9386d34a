# The two commands: `make run` (rehearse a case with the patient) and `make test`.
# Both set up what they need first (see scripts/bootstrap.sh); later runs skip set-up.
SCENARIO ?= maggie-recurrence-bbn
VENV := .venv/bin

.PHONY: setup run test lint

setup:
	@scripts/bootstrap.sh

run: setup
	$(VENV)/simpatient chat $(SCENARIO)

lint: setup
	$(VENV)/ruff check simpatient tests
	$(VENV)/ruff format --check simpatient tests
	$(VENV)/mypy simpatient
	$(VENV)/simpatient validate --strict personas scenarios evaluation

test: lint
	$(VENV)/pytest -ra
