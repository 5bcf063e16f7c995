#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what is missing, builds
# (normal and AddressSanitizer+UBSan), checks the generated codec, starts a
# private MariaDB, runs every Criterion suite through CTest (labels unit,
# integration, e2e) in both builds, fuzzes the decoder, the ZAP handler and
# norc-web's HTTP handling,
# stops the server,
# and ends with Criterion's summary lines.
#
#   scripts/test.sh              everything
#   NORC_FUZZ_SECONDS=30         fuzzing time (default 30)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=$(nproc 2>/dev/null || echo 2)
fuzz_seconds=${NORC_FUZZ_SECONDS:-30}
failed=0

step () { printf '\n==== %s\n' "$*"; }

step "dependencies"
scripts/install-deps.sh || exit 1

step "test tools (PyPI)"
# openapi-spec-validator checks the OpenAPI document norc-web serves, and
# schemathesis tests the live API against it; moto's server stands in for
# SQS and S3 (signatures checked), boto3 reads back what Norc wrote there
for tool in openapi_spec_validator:openapi-spec-validator schemathesis:schemathesis moto.server:moto[server] \
            boto3:boto3; do
    if ! python3 -c "import ${tool%%:*}" 2>/dev/null; then
        python3 -m pip install -q "${tool#*:}" 2>/dev/null \
            || python3 -m pip install -q --break-system-packages "${tool#*:}" 2>/dev/null || true
    fi
    python3 -c "import ${tool%%:*}" || { echo "FAIL: cannot install ${tool#*:}"; exit 1; }
done

step "build (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 1
cmake --build build -j "$jobs" >/dev/null || { cmake --build build 2>&1 | grep -E 'error|warning' | head -40; exit 1; }

step "build (AddressSanitizer + UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DNORC_SANITIZE=ON >/dev/null || exit 1
cmake --build build-asan -j "$jobs" >/dev/null || { cmake --build build-asan 2>&1 | grep -E 'error|warning' | head -40; exit 1; }

step "generated codec and API match proto/norc_proto.xml and proto/norc_api.xml"
gen=$(mktemp -d)
python3 proto/gen_codec.py proto/norc_proto.xml "$gen" "$gen/protocol.md" "$gen/proto_cases.inc"
python3 proto/gen_api.py proto/norc_api.xml "$gen"
pairs=("norc_msg.h:proto/norc_msg.h" "norc_msg.c:proto/norc_msg.c"
       "protocol.md:docs/protocol.md" "proto_cases.inc:tests/unit/proto_cases.inc")
for rel in $(python3 proto/gen_api.py --list); do pairs+=("$rel:$rel"); done
for pair in "${pairs[@]}"; do
    if ! cmp -s "$gen/${pair%%:*}" "${pair#*:}"; then
        echo "FAIL: ${pair#*:} is out of date; run: make -C build proto-generate"
        failed=1
    fi
done
rm -rf "$gen"

step "include fences"
if grep -l '#include <mysql.h>\|#include <mysql/' $(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]') \
        | grep -v -E '(norc_db\.c|norc_db_stmt\.c|norc_db_internal\.h|_store\.c)$'; then
    echo "FAIL: only norc_db.c, norc_db_stmt.c, norc_db_internal.h and *_store.c may include mysql.h"; failed=1
fi
if grep -l '#include <curl/' $(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]') \
        | grep -v -E '^(tests|bench)/|norc_http\.c$'; then
    echo "FAIL: only common/norc_http.c (and tests and benchmarks, as HTTP clients) may include curl.h"; failed=1
fi

step "private MariaDB"
dbdir="$root/build/mariadb"
dsn=$(scripts/mariadb-private.sh start "$dbdir") || exit 1
trap 'scripts/mariadb-private.sh stop "$dbdir"' EXIT
export NORC_TEST_DB="$dsn"
echo "NORC_TEST_DB=$NORC_TEST_DB"

step "tests (RelWithDebInfo)"
(cd build && ctest -L 'unit|integration|e2e' --output-on-failure -j 1) || failed=1

step "tests (AddressSanitizer + UBSan)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$root/tests/lsan.supp
(cd build-asan && ctest -L 'unit|integration|e2e' --output-on-failure -j 1) || failed=1

step "fuzzing the decoder for ${fuzz_seconds}s"
if CC=clang cmake -S . -B build-fuzz -DNORC_FUZZ=ON -DNORC_TESTS=OFF -DNORC_SANITIZE=ON \
        -DCMAKE_BUILD_TYPE=Debug >/dev/null \
   && cmake --build build-fuzz -j "$jobs" --target fuzz_norc_msg fuzz_norc_zap fuzz_norc_web norc_proto_seeds \
        >/dev/null; then
    corpus="$root/build-fuzz/corpus"
    rm -rf "$corpus"; mkdir -p "$corpus"
    build-fuzz/tests/fuzz/norc_proto_seeds "$corpus"
    if build-fuzz/tests/fuzz/fuzz_norc_msg -max_total_time="$fuzz_seconds" -rss_limit_mb=2048 \
            -max_len=65536 -print_final_stats=1 "$corpus" >build-fuzz/fuzz.log 2>&1; then
        grep -E '^stat::number_of_executed_units|Done [0-9]+ runs' build-fuzz/fuzz.log | tail -2
        cov=$(grep -oE 'DONE +cov: [0-9]+' build-fuzz/fuzz.log | grep -oE '[0-9]+$' || echo 0)
        echo "fuzz: no crash, leak or sanitizer report; ${cov} edges covered"
        if [ "${cov:-0}" -lt 300 ]; then
            echo "FAIL: the fuzzer covered only ${cov} edges: is the library instrumented?"
            failed=1
        fi
    else
        tail -40 build-fuzz/fuzz.log
        echo "FAIL: fuzzer found a problem"
        failed=1
    fi
    # The ZAP handler's answer and the registry's cache file, from nothing
    zap_corpus="$root/build-fuzz/corpus-zap"
    rm -rf "$zap_corpus"; mkdir -p "$zap_corpus"
    if build-fuzz/tests/fuzz/fuzz_norc_zap -max_total_time=$(( fuzz_seconds / 3 + 1 )) -rss_limit_mb=2048 \
            -max_len=4096 "$zap_corpus" >build-fuzz/fuzz-zap.log 2>&1; then
        echo "fuzz (ZAP): no crash, leak or sanitizer report; $(grep -oE 'DONE +cov: [0-9]+' \
            build-fuzz/fuzz-zap.log | grep -oE '[0-9]+$' || echo 0) edges covered"
    else
        tail -40 build-fuzz/fuzz-zap.log
        echo "FAIL: the ZAP fuzzer found a problem"
        failed=1
    fi
    # norc-web's HTTP request handling, from a few requests (tests/fuzz/web_seeds)
    web_corpus="$root/build-fuzz/corpus-web"
    rm -rf "$web_corpus"; mkdir -p "$web_corpus"; cp tests/fuzz/web_seeds/* "$web_corpus"/
    if build-fuzz/tests/fuzz/fuzz_norc_web -max_total_time=$(( fuzz_seconds / 2 + 1 )) -rss_limit_mb=2048 \
            -max_len=8192 "$web_corpus" >build-fuzz/fuzz-web.log 2>&1; then
        echo "fuzz (HTTP): no crash, leak or sanitizer report; $(grep -oE 'DONE +cov: [0-9]+' \
            build-fuzz/fuzz-web.log | grep -oE '[0-9]+$' || echo 0) edges covered"
    else
        tail -40 build-fuzz/fuzz-web.log
        echo "FAIL: the HTTP fuzzer found a problem"
        failed=1
    fi
else
    echo "FAIL: cannot build the fuzz target"; failed=1
fi

step "containers (docker compose)"
if docker info >/dev/null 2>&1; then
    # The Python event-stream example's client libraries (test tools): from
    # PyPI, or else Debian's packages for Debian's own python3
    export NORC_PYTHON=python3
    if ! python3 -c 'import zmq, msgpack' 2>/dev/null; then
        python3 -m pip install -q pyzmq msgpack 2>&1 | grep -v -i "warning" || true
    fi
    if ! python3 -c 'import zmq, msgpack' 2>/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-zmq python3-msgpack >/dev/null
        NORC_PYTHON=/usr/bin/python3
    fi
    build/tests/test_compose --jobs 1 >build/compose-test.log 2>&1 || failed=1
    grep -E '^\[(FAIL|----)\]|Synthesis' build/compose-test.log | tail -20
    docker_line=$(grep -E 'Synthesis' build/compose-test.log | tail -1)
else
    docker_line="docker: skipped (no Docker engine answers)"
    echo "$docker_line"
fi

step "summary"
for b in build build-asan; do
    log="$b/Testing/Temporary/LastTest.log"
    [ -f "$log" ] || continue
    echo "-- $b"
    grep -E '^\[====\] Synthesis' "$log" | awk '{
        for (i = 1; i <= NF; i++) {
            if ($i == "Tested:") t += $(i+1); if ($i == "Passing:") p += $(i+1);
            if ($i == "Failing:") f += $(i+1); if ($i == "Crashing:") c += $(i+1)
        }
        print
    } END { printf "[====] Synthesis (all suites): Tested: %d | Passing: %d | Failing: %d | Crashing: %d\n", t, p, f, c }'
done
echo "-- containers"
echo "${docker_line:-}"
if [ "$failed" -ne 0 ]; then
    echo "TESTS FAILED"
    exit 1
fi
echo "ALL TESTS PASSED"
