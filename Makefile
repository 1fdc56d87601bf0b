# The two commands a newcomer needs: `make demo` and `make test`.
# Both create .venv first if it is missing (scripts/setup.sh is idempotent).
VENV ?= .venv
PY := $(VENV)/bin/python
export ROS_AUTOMATIC_DISCOVERY_RANGE ?= LOCALHOST
DEMO_OUT ?= demo_out

.PHONY: setup demo test clean-demo

setup:
	@bash scripts/setup.sh

demo: setup
	$(PY) -m eva.cli.main demo --out $(DEMO_OUT) --overwrite
	@echo "demo: $(DEMO_OUT)/demo.mp4 (human | landmarks | self-image | simulated robot), $(DEMO_OUT)/report.json, $(DEMO_OUT)/bag/"

test: setup
	$(PY) -m pytest -q

clean-demo:
	rm -rf $(DEMO_OUT)
