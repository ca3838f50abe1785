# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Makefile - builds the BPF programs, their skeletons, the userspace library, programs and tests
#
# make            build everything into build/ (build-san/ with SAN=1)
# make test       install missing packages, check the layers, build, run every test (root: BPF
#                 and namespaces)
# make check-layers  includes go one way (scripts/check-layers.sh) and its self-test; shellcheck
#                 of every script (scripts/check-shell.sh)
# make check-shell   only the shellcheck of every script
# make demo       install missing packages, build, run the built-in demo
# make bench      fast-path and control-plane benchmarks
# make fuzz       build the libFuzzer targets into build/fuzz/ (clang) and run each FUZZ_SECONDS
#                 (default 60); not part of all. make fuzz-seeds rewrites the packet seeds
# make format     check formatting with clang-format
# make install    cellgated, cellctl, the systemd unit, the man pages, the bash completion and the
#                 cell hosts' decap.bpf.o under $(DESTDIR)$(PREFIX) (PREFIX=/usr/local); make
#                 uninstall removes exactly those files (docs/operations.md)
# V=1             show the commands

ifeq ($(SAN),1)
BUILD ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
BUILD ?= build
SANFLAGS :=
endif

CC ?= gcc
CLANG ?= clang
LLVM_STRIP ?= llvm-strip
BPFTOOL ?= bpftool

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

WARN := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wmissing-prototypes -Wstrict-prototypes
# product code sees include/ and the generated skeletons; tests also see their own helpers
CFLAGS := -O2 -g -std=gnu11 $(WARN) -D_GNU_SOURCE -Iinclude -I$(BUILD) -MMD -MP $(SANFLAGS)
TEST_CFLAGS := -Itests/lib -Itests/bench
LDFLAGS := $(SANFLAGS)
LDLIBS := -lbpf -lelf -lz -lmnl -lyaml -ljansson -lsodium
BPF_CFLAGS := -O2 -g -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -Wall -Werror \
	-Iinclude -Ibpf -I$(BUILD) -MMD -MP

# bpf/: the product's programs; tests/bpf/: programs only tests and benchmarks load
BPF_SRCS := $(wildcard bpf/*.bpf.c)
TBPF_SRCS := $(wildcard tests/bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS)) \
	$(patsubst tests/bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(TBPF_SRCS))
SKELS := $(patsubst $(BUILD)/bpf/%.bpf.o,$(BUILD)/%.skel.h,$(BPF_OBJS))

# userspace/lib/ is libcellgate; every other folder of userspace/ is one program of that name
LIB_SRCS := $(wildcard userspace/lib/*.c)
LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS))
LIB := $(BUILD)/libcellgate.a
PROG_DIRS := $(filter-out lib,$(notdir $(patsubst %/,%,$(wildcard userspace/*/))))
PROGS := $(PROG_DIRS:%=$(BUILD)/%)
prog_objs = $(patsubst %.c,$(BUILD)/%.o,$(wildcard userspace/$(1)/*.c))

# tests/lib: helpers shared by test programs (packet builders, loaders); shim_*.c are LD_PRELOAD
# objects of their own (fault injection for the e2e tests), linked into nothing
TLIB_SRCS := $(filter-out tests/lib/shim_%.c,$(wildcard tests/lib/*.c))
SHIMS := $(patsubst tests/lib/%.c,$(BUILD)/tests/lib/%.so,$(wildcard tests/lib/shim_*.c))
TLIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(TLIB_SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
PROG_TEST_SRCS := $(wildcard tests/prog/test_*.c)
TESTS := $(patsubst %.c,$(BUILD)/%,$(UNIT_SRCS) $(PROG_TEST_SRCS))
BENCH_SRCS := $(wildcard tests/bench/*.c)
BENCH := $(if $(BENCH_SRCS),$(BUILD)/tests/bench/bench)

.DEFAULT_GOAL := all

# the namespace lab's own programs (LAB_BINS)
include tests/lab/lab.mk

.PHONY: install uninstall all deps check-layers check-shell test unit-test prog-test e2e-test demo bench fuzz fuzz-build fuzz-seeds format \
	format-fix clean
.DELETE_ON_ERROR:
.SECONDARY:

all: $(BPF_OBJS) $(SKELS) $(LIB) $(PROGS) $(TESTS) $(BENCH) $(LAB_BINS) $(SHIMS)

deps:
	$(Q)bash scripts/deps.sh

$(BUILD)/vmlinux.h:
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BUILD)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@

$(BUILD)/bpf/%.bpf.o: tests/bpf/%.bpf.c $(BUILD)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -Itests/bench -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name cg_$* > $@

# every object may include any skeleton
$(BUILD)/userspace/%.o: userspace/%.c $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/tests/%.o: tests/%.c $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(TEST_CFLAGS) -c $< -o $@

$(BUILD)/tests/lib/shim_%.so: tests/lib/shim_%.c
	$(call msg,SHIM,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O2 -g -std=gnu11 $(WARN) -D_GNU_SOURCE -fPIC -shared -MMD -MP $< -ldl -o $@

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

# one binary per program folder; cellgated also serves /metrics over libmicrohttpd
$(BUILD)/cellgated: LDLIBS += -lmicrohttpd
.SECONDEXPANSION:
$(PROGS): $(BUILD)/%: $$(call prog_objs,%) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# cellgated tells systemd it is ready, alive and stopping (userspace/cellgated/notify.c)
$(BUILD)/cellgated: LDLIBS += -lsystemd

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TLIB_OBJS) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -lcmocka -lm -o $@

$(BUILD)/tests/bench/bench: $(patsubst %.c,$(BUILD)/%.o,$(BENCH_SRCS)) $(TLIB_OBJS) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -lm -o $@

# tests/fuzz/: libFuzzer targets, built by clang with ASan and UBSan over a coverage-instrumented
# copy of the library; the skeletons come from $(BUILD)
FUZZ_SECONDS ?= 60
FUZZ := build/fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -O1 -g -std=gnu11 $(WARN) -D_GNU_SOURCE -Iinclude -I$(BUILD) -Itests/lib -MMD -MP \
	$(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_LIB_OBJS := $(patsubst %.c,$(FUZZ)/%.o,$(LIB_SRCS))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(FUZZ)/%,$(wildcard tests/fuzz/fuzz_*.c))

$(FUZZ)/%.o: %.c $(SKELS)
	$(call msg,FUZZCC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ)/libcellgate.a: $(FUZZ_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ)/fuzz_%: $(FUZZ)/tests/fuzz/fuzz_%.o $(FUZZ)/tests/lib/uparse.o $(FUZZ)/libcellgate.a
	$(call msg,LINK,$@)
	$(Q)$(CLANG) $(FUZZ_SAN) -fsanitize=fuzzer $^ $(LDLIBS) -o $@

fuzz-build: $(FUZZ_BINS)

# the packet seeds, from the test packet builders (the files are committed)
$(FUZZ)/gen_packets: $(BUILD)/tests/fuzz/gen_packets.o $(BUILD)/tests/lib/pkt.o
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@

fuzz-seeds: $(FUZZ)/gen_packets
	$(Q)$< tests/fuzz/corpus/fuzz_packet

fuzz: deps
	$(Q)$(MAKE) --no-print-directory fuzz-build
	$(Q)FUZZ=$(FUZZ) FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh

# no build, no root: fails on an include that goes the wrong way or a cycle in the library
check-layers:
	$(Q)bash scripts/check-layers-selftest.sh
	$(Q)bash scripts/check-layers.sh
	$(Q)bash scripts/check-shell.sh

# no build, no root: shellcheck of every script (also part of check-layers)
check-shell:
	$(Q)bash scripts/check-shell.sh

test: deps check-layers
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) bash tests/run.sh

unit-test prog-test e2e-test: all
	$(Q)BUILD=$(BUILD) bash tests/run.sh $(@:-test=)

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) bash scripts/demo.sh

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) bash scripts/bench.sh

# product code and the test library; the tests' case tables are laid out by hand
FORMAT_FILES = $(shell git ls-files 'bpf/*.[ch]' 'userspace/*.[ch]' 'include/*.h' 'tests/lib/*.[ch]' 'tests/bpf/*.[ch]')
format:
	$(Q)clang-format --dry-run --Werror $(FORMAT_FILES) && echo "format: $(words $(FORMAT_FILES)) files ok"

format-fix:
	$(Q)clang-format -i $(FORMAT_FILES)

# Install paths. cellgated's router program is built into it (the skeleton embeds
# router.bpf.o), so only the cell hosts' decap.bpf.o is installed as an object, for
# 'ip link set dev IF xdp obj $(BPFDIR)/decap.bpf.o sec xdp'.
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
BPFDIR ?= $(LIBDIR)/cellgate
MANDIR ?= $(PREFIX)/share/man
UNITDIR ?= $(LIBDIR)/systemd/system
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
SYSCONFDIR ?= /etc
INSTALL ?= install
INSTALLED := $(SBINDIR)/cellgated $(BINDIR)/cellctl $(BPFDIR)/decap.bpf.o \
	$(UNITDIR)/cellgated.service $(MANDIR)/man8/cellgated.8 $(MANDIR)/man8/cellctl.8 \
	$(BASHCOMPDIR)/cellctl

# the unit is written here, not in $(BUILD), so PREFIX and SYSCONFDIR are always this call's
install: $(BUILD)/cellgated $(BUILD)/cellctl $(BUILD)/bpf/decap.bpf.o
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(BPFDIR) \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(BASHCOMPDIR)
	$(Q)$(INSTALL) -m 0755 $(BUILD)/cellgated $(DESTDIR)$(SBINDIR)/cellgated
	$(Q)$(INSTALL) -m 0755 $(BUILD)/cellctl $(DESTDIR)$(BINDIR)/cellctl
	$(Q)$(INSTALL) -m 0644 $(BUILD)/bpf/decap.bpf.o $(DESTDIR)$(BPFDIR)/decap.bpf.o
	$(Q)sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		dist/systemd/cellgated.service.in > $(DESTDIR)$(UNITDIR)/cellgated.service
	$(Q)chmod 0644 $(DESTDIR)$(UNITDIR)/cellgated.service
	$(Q)$(INSTALL) -m 0644 docs/man/cellgated.8 docs/man/cellctl.8 $(DESTDIR)$(MANDIR)/man8/
	$(Q)$(INSTALL) -m 0644 dist/bash-completion/cellctl $(DESTDIR)$(BASHCOMPDIR)/cellctl

# the files only: directories may hold others' files, the state and the pins are the operator's
uninstall:
	$(call msg,UNINST,$(DESTDIR)$(PREFIX))
	$(Q)rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	$(Q)rmdir $(DESTDIR)$(BPFDIR) 2>/dev/null || true

clean:
	$(Q)rm -rf build build-san

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
