# API Gateway Pro.  `make run` brings up the whole stack; `make test` runs
# every test.  See README.md.

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
CC      ?= cc
CFLAGS  ?= -O2 -g
SANFLAGS ?=

PKGS    := libcurl json-c libpcre2-8 libcrypto
WARN    := -std=c11 -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wformat=2 -Wvla
DEPCFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(shell mariadb_config --cflags 2>/dev/null)
DEPLIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) $(shell mariadb_config --libs 2>/dev/null) \
            -lfcgi -lcrypt -lpthread -lm
ALL_CFLAGS = $(WARN) $(CFLAGS) $(SANFLAGS) -D_GNU_SOURCE -Ifcgi-app -isystem $(DUK_DIR) \
             $(DEPCFLAGS) -MMD -MP \
             -DAPIGW_DATADIR='"$(PREFIX)/share/apigw"' 
ALL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)

# Duktape, the engine of upstream scripts, from Debian's source package
# with its execution-timeout hook (scripts/duktape.sh; not committed).  Its
# own code is compiled with its own flags: -O2 always, no warnings (it is
# not ours to fix), the sanitizers of the build (`make check`) included.
DUK_DIR := build/third_party/duktape
DUK_OBJ := $(BUILD)/obj/third_party/duktape.o
DUK_CFLAGS = -std=c99 -O2 -g -w $(SANFLAGS) -I$(DUK_DIR)

# The tree: the request frame in fcgi-app/, then a folder per audience
# (ops/, admin/, proxy/) and the core library (core/, the rule engine in
# core/rule/).
CORE_SRC := $(wildcard fcgi-app/core/*.c fcgi-app/core/rule/*.c)
APP_SRC  := $(filter-out fcgi-app/main.c,$(wildcard fcgi-app/*.c fcgi-app/ops/*.c \
            fcgi-app/admin/*.c fcgi-app/proxy/*.c))
C_FILES   = $(wildcard fcgi-app/*.[ch] fcgi-app/*/*.[ch] fcgi-app/core/rule/*.[ch] \
            cron-jobs/*.[ch] tests/unit/*.[ch] tests/fuzz/*.c)
CRON_SRC := $(filter-out cron-jobs/job.c,$(wildcard cron-jobs/apigw-*.c))
UNIT_SRC := $(wildcard tests/unit/*.c)

CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/obj/%.o) $(DUK_OBJ)
APP_OBJ  := $(APP_SRC:%.c=$(BUILD)/obj/%.o)
JOB_OBJ  := $(BUILD)/obj/cron-jobs/job.o
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/obj/%.o)
CORE_LIB := $(BUILD)/lib/libapigw-core.a
APP_LIB  := $(BUILD)/lib/libapigw-app.a
CRON_BIN := $(CRON_SRC:cron-jobs/%.c=$(BUILD)/bin/%)
APP_BIN  := $(BUILD)/bin/apigw-fcgi
UNIT_BIN := $(BUILD)/bin/unit-tests

.PHONY: all deps test test-only check lint format format-check install clean run bench fuzz \
        stop web-vendor

all: $(APP_BIN) $(CRON_BIN) $(UNIT_BIN)

# Keep every object file: make would otherwise delete the cron jobs'
# objects as intermediates, and a later `make all` with the same BUILD but
# other flags (make run or make install under `make check`) would rebuild
# them unsanitized and fail to link.
.SECONDARY:

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(DUK_DIR)/duktape.c $(DUK_DIR)/duktape.h $(DUK_DIR)/duk_config.h &: scripts/duktape.sh
	@scripts/duktape.sh

$(DUK_OBJ): $(DUK_DIR)/duktape.c $(DUK_DIR)/duk_config.h
	@mkdir -p $(dir $@)
	$(CC) $(DUK_CFLAGS) -c $< -o $@

# Only the script modules (core/script*.c) include duktape.h.
$(BUILD)/obj/fcgi-app/core/script.o $(BUILD)/obj/fcgi-app/core/script_value.o \
  $(BUILD)/obj/fcgi-app/core/script_obj.o $(BUILD)/obj/fcgi-app/core/script_engine.o: \
  | $(DUK_DIR)/duktape.h

$(CORE_LIB): $(CORE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(APP_LIB): $(APP_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(APP_BIN): $(BUILD)/obj/fcgi-app/main.o $(APP_LIB) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEPLIBS)

$(BUILD)/bin/apigw-%: $(BUILD)/obj/cron-jobs/apigw-%.o $(JOB_OBJ) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEPLIBS)

$(UNIT_BIN): $(UNIT_OBJ) $(APP_LIB) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEPLIBS) -lcunit

# Debian packages the build, the stack and the tests need; installs only
# what is missing.
deps:
	@scripts/deps.sh
	@scripts/duktape.sh
	@sh tests/openapi/install.sh

# Builds, then runs every test; the last line is `N passed, N failed`.
test: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) scripts/test.sh

# Runs the tests against an existing build (used by `check`).
test-only:
	@BUILD=$(BUILD) scripts/test.sh

# Two gateways on a three-node Galera cluster on the loopback: exact quotas,
# conflicts retried, a node killed and rejoining (tests/cluster/run.py).
.PHONY: test-cluster
test-cluster:
	@scripts/deps.sh galera-4 rsync iproute2
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) python3 tests/cluster/run.py

# The same tests against a build with AddressSanitizer and UBSan.
check: deps
	@$(MAKE) --no-print-directory BUILD=build/san CFLAGS="-O1 -g" \
	    SANFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" all
	@BUILD=build/san APIGW_SANITIZED=1 scripts/test.sh

# Functions that invite overflows or silent misparsing are banned, and the
# tree keeps its shape (folders and headers).  It builds nothing, so it is
# quick; the check that no two files call each other reads the object
# files and runs with the tests (scripts/test.sh, suite "layout").
lint:
	@scripts/lint.sh

format:
	clang-format -i $(C_FILES)

format-check:
	@clang-format --dry-run -Werror $(C_FILES) \
	    && echo "format-check: ok"

run: deps
	@$(MAKE) --no-print-directory all
	@scripts/run.py

bench: deps
	@$(MAKE) --no-print-directory all
	@scripts/bench.sh

fuzz:
	@scripts/fuzz.sh

# Binaries to $(PREFIX)/bin, the schema, the admin page and the examples to
# $(PREFIX)/share/apigw (where apigw-migrate looks for sql/), man pages to
# $(PREFIX)/share/man/man8.  DESTDIR stages the lot for packaging.
install: $(APP_BIN) $(CRON_BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/apigw \
	    $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 755 $(APP_BIN) $(CRON_BIN) $(DESTDIR)$(PREFIX)/bin/
	cp -R sql web conf-examples $(DESTDIR)$(PREFIX)/share/apigw/
	install -m 644 man/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/

# The admin page's chart library, from the npm registry, pinned.  The
# copied files are committed (web/vendor/), so serving needs no build step;
# run this only to change the version (see web/vendor/README.md).
UPLOT_VERSION := 1.6.32
web-vendor:
	@rm -rf $(BUILD)/web-vendor && mkdir -p $(BUILD)/web-vendor
	@cd $(BUILD)/web-vendor && echo '{"private":true}' > package.json && \
	    npm install --no-save --no-audit --no-fund --ignore-scripts uplot@$(UPLOT_VERSION)
	@rm -rf web/vendor/uplot && mkdir -p web/vendor/uplot
	cp $(BUILD)/web-vendor/node_modules/uplot/dist/uPlot.esm.js \
	   $(BUILD)/web-vendor/node_modules/uplot/dist/uPlot.min.css \
	   $(BUILD)/web-vendor/node_modules/uplot/LICENSE web/vendor/uplot/
	@echo "web-vendor: uplot $(UPLOT_VERSION) in web/vendor/uplot/"

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
