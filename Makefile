# Protolab. `make test` is the test command (CI runs it through .ci/run).
GO       ?= go
FUZZTIME ?= 30s
# Real-client tests must not be skipped in CI or when we could install the
# clients ourselves (root).
REQUIRE  := $(if $(or $(CI),$(filter 0,$(shell id -u))),1,)

.PHONY: all build test vet deps bench fuzz clean

all: build

build:
	$(GO) build -o bin/lab ./cmd/lab

deps:
	@scripts/install-clients.sh test

vet:
	$(GO) vet ./...

test: deps vet
	LAB_REQUIRE_CLIENTS=$(REQUIRE) $(GO) test -race -count=1 ./...

bench:
	@scripts/install-clients.sh bench
	$(GO) run ./bench/dnsbench
	$(GO) run ./bench/mailbench
	$(GO) run ./bench/snmpbench
	$(GO) run ./bench/dhcpbench
	$(GO) run ./bench/classbench

fuzz:
	scripts/fuzz.sh $(FUZZTIME)

clean:
	rm -rf bin
