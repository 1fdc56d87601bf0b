# The two commands a newcomer needs: `make demo` and `make test`.
# Both create .venv first if it is missing (scripts/setup.sh is idempotent).
VENV ?= .venv
PY := $(VENV)/bin/python
export ROS_AUTOMATIC_DISCOVERY_RANGE ?= LOCALHOST
DEMO_OUT ?= demo_out
DEMO_STEPS ?= 300

.PHONY: setup demo test clean-demo

setup:
	@bash scripts/setup.sh

demo: setup
	@rm -rf $(DEMO_OUT)/babble_bag
	$(PY) -m eva.cli.main babble --sim --steps $(DEMO_STEPS) --out $(DEMO_OUT)/babble_bag \
		--contact-sheet $(DEMO_OUT)/contact_sheet.png
	@echo "demo: bag in $(DEMO_OUT)/babble_bag, contact sheet $(DEMO_OUT)/contact_sheet.png"

test: setup
	$(PY) -m pytest -q

clean-demo:
	rm -rf $(DEMO_OUT)
