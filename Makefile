# tinymta — every entry point. See README.md and ../shared/DESIGN.md.
#   make            static musl build: build/tinymta + build/bin/ applet links
#   make test       everything CI runs; ends with "N passed, M failed"
#   make lint       clang-format check, cppcheck, banned-function grep
#   make fuzz       every fuzz target for FUZZTIME seconds (default 10)
#   make bench      side-by-side figures with a private Postfix instance
#   make run        a development instance under ./run/, in the foreground
#   make BOARD=aarch64|armhf|mipsel   cross build
#   make test BOARD=aarch64|armhf|mipsel   cross build + unit tests and an
#                   SMTP round trip under qemu-user (tools/crosstest.sh)
#   make image BOARD=x86_64   build/BOARD/rootfs.squashfs, spool.img, kernel,
#                   initrd (tools/image.sh; docs/image.md)
#   make qemu BOARD=x86_64    boot that image with a serial console

BOARD ?= x86_64
# Each board's toolchain, kernel, partition layout and QEMU command:
# board/BOARD/board.conf (shell syntax; see board/README.md).
BOARDCONF := board/$(BOARD)/board.conf
ifeq ($(wildcard $(BOARDCONF)),)
$(error unknown BOARD '$(BOARD)': use x86_64, aarch64, armhf or mipsel)
endif
boardvar = $(shell sed -n 's/^$(1)=//p' $(BOARDCONF))
GNU := $(call boardvar,GNU)
MT := $(call boardvar,MT)
BOARD_CFLAGS := $(call boardvar,BOARD_CFLAGS)

# O: where build outputs go (default build/; a helper may use its own).
O ?= build
ifeq ($(BOARD),x86_64)
B := $(O)
else
B := $(O)/$(BOARD)
endif
DEPS := build/deps/$(MT)
MCC := $(DEPS)/bin/musl-gcc
DEPSTAMP := $(DEPS)/.stamp-v1
FUZZTIME ?= 10
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.1.0)
# The build date: the clock is "unset" while it reads earlier (DESIGN.md).
BUILD_EPOCH := $(shell git log -1 --format=%ct 2>/dev/null || date +%s)

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla -Wstrict-prototypes \
	-Wmissing-prototypes -Wimplicit-fallthrough
DEFS := -std=c11 -D_DEFAULT_SOURCE -DTINYMTA_VERSION='"$(VERSION)"' \
	-DTINYMTA_BUILD_EPOCH=$(BUILD_EPOCH)LL -Isrc
CFLAGS_MUSL := -Os -ffunction-sections -fdata-sections -fstack-protector-strong \
	$(BOARD_CFLAGS) $(WARN) $(DEFS)
LDFLAGS_MUSL := -static -Wl,--gc-sections -s
LIBS := -lbearssl -lcdb

# The glibc build for sanitizers, unit tests and fuzzing.
ACC ?= gcc
CFLAGS_ASAN := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined $(WARN) $(DEFS)
# glibc keeps crypt(3) (SMTP AUTH hashes) in libcrypt; musl has it in libc.
ALIBS := $(LIBS) -lcrypt

SRCS := $(wildcard src/*.c src/util/*.c)
LIBSRCS := $(filter-out src/main.c,$(SRCS))
OBJS := $(SRCS:%.c=$(B)/obj/%.o)
AOBJS := $(SRCS:%.c=$(O)/asan/obj/%.o)
ALIBOBJS := $(LIBSRCS:%.c=$(O)/asan/obj/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(O)/asan/unit/%)
MUNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/unit/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(O)/fuzz/%)
APPLETS := $(shell grep -o '^APPLET.[a-z0-9_]*' src/applets.def | cut -c8-)

.PHONY: all deps test cross-unit image qemu lint format format-check unit fuzz bench run clean asan size
all: $(B)/tinymta links

$(DEPSTAMP):
	tools/deps.sh $(GNU)

deps: $(DEPSTAMP)

$(B)/obj/%.o: %.c $(DEPSTAMP)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(MCC) $(CFLAGS_MUSL) -MMD -MP -c $< -o $@

$(B)/tinymta: $(OBJS)
	@echo "  LD      $@"
	@$(MCC) $(CFLAGS_MUSL) $(LDFLAGS_MUSL) -o $@ $(OBJS) $(LIBS)

links: $(B)/tinymta
	@mkdir -p $(B)/bin
	@for a in $(APPLETS); do ln -sf ../tinymta $(B)/bin/$$a; done

$(O)/asan/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC-ASAN $<"
	@$(ACC) $(CFLAGS_ASAN) -MMD -MP -c $< -o $@

$(O)/asan/tinymta: $(AOBJS)
	@echo "  LD-ASAN $@"
	@$(ACC) $(CFLAGS_ASAN) -o $@ $(AOBJS) $(ALIBS)

asan: $(O)/asan/tinymta
	@mkdir -p $(O)/asan/bin
	@for a in $(APPLETS); do ln -sf ../tinymta $(O)/asan/bin/$$a; done

$(O)/asan/unit/%: tests/unit/%.c $(ALIBOBJS)
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	@$(ACC) $(CFLAGS_ASAN) -Itests/unit -o $@ $< $(ALIBOBJS) $(ALIBS)

$(B)/unit/%: tests/unit/%.c $(filter-out $(B)/obj/src/main.o,$(OBJS))
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	@$(MCC) $(CFLAGS_MUSL) -Itests/unit -static -o $@ $< \
		$(filter-out $(B)/obj/src/main.o,$(OBJS)) $(LIBS)

unit: $(UNIT_BINS) $(MUNIT_BINS)

# The musl unit tests only (a cross board has no glibc ASan build).
cross-unit: $(MUNIT_BINS)

FOBJS := $(LIBSRCS:%.c=$(O)/fuzz/obj/%.o)
$(O)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC-FUZZ $<"
	@clang -O1 -g -fsanitize=fuzzer-no-link,address,undefined $(DEFS) -MMD -MP -c $< -o $@

$(O)/fuzz/%: tests/fuzz/%.c $(FOBJS)
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	@clang -O1 -g -fsanitize=fuzzer,address,undefined $(DEFS) -o $@ $< $(FOBJS) $(ALIBS)

fuzz: $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do n=$$(basename $$f); mkdir -p $(O)/fuzz/corpus-$$n; \
	  seed=tests/fuzz/corpus/$${n#fuzz_}; [ -d $$seed ] || seed=; \
	  echo "fuzz: $$n for $(FUZZTIME)s"; \
	  $$f -max_total_time=$(FUZZTIME) -timeout=5 -rss_limit_mb=1024 -print_final_stats=0 \
	    $(O)/fuzz/corpus-$$n $$seed >$(O)/fuzz/$$n.log 2>&1 \
	    || { tail -30 $(O)/fuzz/$$n.log; exit 1; }; done

lint:
	tools/lint.sh

format:
	clang-format -i $(wildcard src/*.[ch] src/util/*.[ch] tests/unit/*.[ch] tests/fuzz/*.c)

test:
	tools/testdeps.sh
	@if [ "$(BOARD)" = x86_64 ]; then tools/runtests.sh; else tools/crosstest.sh $(BOARD); fi

# The appliance image: always under build/BOARD/ (x86_64 too).
image: all
	tools/image.sh $(BOARD) $(B)/tinymta

qemu: image
	tools/qemu.sh $(BOARD)

bench: all
	tools/bench.sh

run: all
	tools/run.sh

size: $(B)/tinymta
	size $(B)/tinymta

clean:
	rm -rf $(B)/obj $(O)/asan $(O)/fuzz $(B)/unit $(B)/tinymta $(B)/bin

-include $(OBJS:.o=.d) $(AOBJS:.o=.d)
