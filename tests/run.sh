#!/usr/bin/env bash
# Install what is missing, build logsift and run its test suite with ctest.
#   tests/run.sh               warnings-as-errors build in build/, every test
#   tests/run.sh --sanitize    the same under ASan+UBSan, in build-asan/
#   tests/run.sh --tsan        the end-to-end tests of the threaded scanner under TSan, in build-tsan/
# Extra arguments after the flag go to ctest (e.g. -L unit).
set -euo pipefail
cd "$(dirname "$0")/.."

build=build
cmake_args=()
if [ "${1:-}" = "--sanitize" ]; then
  shift
  build=build-asan
  cmake_args+=(-DLOGSIFT_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug)
  # Leak checks on; abort on the first report so ctest sees the failure.
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  # Only tests that run logsift's C code: not the benchmark smoke run (it times things) nor
  # the Python emulator's own tests.
  set -- -LE smoke -E integration_emulator "$@"
elif [ "${1:-}" = "--tsan" ]; then
  shift
  build=build-tsan
  cmake_args+=(-DLOGSIFT_SANITIZE=thread -DCMAKE_BUILD_TYPE=Debug)
  export TSAN_OPTIONS=halt_on_error=1
  set -- -R integration_cli "$@"
fi

tests/install-deps.sh
cmake -S . -B "$build" "${cmake_args[@]}" >/dev/null
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" "$@"
