#!/usr/bin/env bash
# Builds Arrow 11's C++ Plasma tests (third_party/arrow_plasma_tests) against the libplasma and
# libarrow of the pyarrow 11 wheel, with googletest compiled from Debian's sources, all with the
# wheel's old libstdc++ string ABI. Outputs go to build/arrow_cpp_tests/ (gitignored), beside a
# symlink to our bin/plasma-store-server, which the tests start from their own directory.
# Rebuilds only what is older than its sources. Usage: tools/build_arrow_cpp_tests.sh PYTHON
# (prints the output directory on stdout, progress on stderr)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="$1"
bash "$root/tools/install_cpp_test_deps.sh"
pyarrow_dir="$("$python" -c 'import os, pyarrow; print(os.path.dirname(pyarrow.__file__))')"
src="$root/third_party/arrow_plasma_tests"
out="$root/build/arrow_cpp_tests"
gtest="/usr/src/googletest/googletest"
mkdir -p "$out"
flags=(-std=c++17 -O1 -g0 -pthread -D_GLIBCXX_USE_CXX11_ABI=0 -w)
includes=(-I"$src/include" -I"$src/shim" -I"$pyarrow_dir/include" -I"$gtest/include")

# stale OUTPUT INPUT...: true when OUTPUT is missing or older than an input.
stale() {
  local output="$1"; shift
  [[ -f "$output" ]] || return 0
  local input
  for input in "$@"; do [[ "$input" -nt "$output" ]] && return 0; done
  return 1
}

if stale "$out/gtest-all.o" "$0"; then
  echo "build_arrow_cpp_tests: googletest" >&2
  g++ "${flags[@]}" -I"$gtest" -I"$gtest/include" -c "$gtest/src/gtest-all.cc" -o "$out/gtest-all.o"
fi
if stale "$out/arrow_testing_shim.o" "$0" "$src/shim/arrow_testing_shim.cc"; then
  g++ "${flags[@]}" "${includes[@]}" -c "$src/shim/arrow_testing_shim.cc" -o "$out/arrow_testing_shim.o"
fi
for test in client_tests external_store_tests; do
  if stale "$out/$test" "$0" "$src/src/plasma/test/$test.cc" "$out/gtest-all.o" "$out/arrow_testing_shim.o"; then
    echo "build_arrow_cpp_tests: $test" >&2
    g++ "${flags[@]}" "${includes[@]}" "$src/src/plasma/test/$test.cc" \
      "$out/arrow_testing_shim.o" "$out/gtest-all.o" \
      "$pyarrow_dir/libplasma.so.1100" "$pyarrow_dir/libarrow.so.1100" \
      -Wl,-rpath,"$pyarrow_dir" -o "$out/$test"
  fi
done
ln -sfn "$root/bin/plasma-store-server" "$out/plasma-store-server"
echo "$out"
