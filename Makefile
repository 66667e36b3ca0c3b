# Thin wrapper for the README's two commands. The build itself is meson's (meson.build).
BUILD ?= build
FIXTURE := tests/fixtures/app
FIXTURES := $(FIXTURE) tests/fixtures/next16 tests/fixtures/large
PORT ?= 3000
# podman as it works on these machines (root, no cgroup v2 delegation: runc, cgroupfs, vfs).
PODMAN ?= podman --storage-driver=vfs --cgroup-manager=cgroupfs --runtime=runc
export PODMAN

.PHONY: all deps fixture build demo test bench image print-podman clean

all: build

deps:
	@sh container/image/host-deps.sh

fixture: deps
	@for f in $(FIXTURES); do sh tests/fixtures/build.sh $$f || exit 1; done

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: deps $(BUILD)/build.ninja
	@meson compile -C $(BUILD)

demo: build fixture
	@sh supervisor/demo.sh $(BUILD) $(FIXTURE)/.next/standalone $(PORT)

test: build fixture
	@sh tests/run.sh $(BUILD)

bench: build fixture
	@sh bench/run.sh $(BUILD)

image: fixture
	@sh container/image/build.sh $(BUILD)

print-podman:
	@echo '$(PODMAN)'

clean:
	rm -rf $(BUILD) build-asan build-libnode18
