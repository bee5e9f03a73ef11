# Thin wrapper over tools/dev.sh (which also works where make is not installed).
.PHONY: setup demo test
setup:
	bash tools/dev.sh setup
demo:
	bash tools/dev.sh demo
test:
	bash tools/dev.sh test
