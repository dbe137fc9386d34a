# The two commands: `make run` (the service: open http://127.0.0.1:8080/ and talk to a
# patient) and `make test`. Both set up what they need first (see scripts/bootstrap.sh);
# later runs skip set-up.
VENV := .venv/bin

.PHONY: setup run test lint

setup:
	@scripts/bootstrap.sh

run: setup
	$(VENV)/simpatient -v serve

lint: setup
	$(VENV)/ruff check simpatient tests
	$(VENV)/ruff format --check simpatient tests
	$(VENV)/mypy simpatient
	$(VENV)/simpatient validate --strict personas scenarios evaluation

test: lint
	$(VENV)/pytest -ra
