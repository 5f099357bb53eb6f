#!/usr/bin/env bash
# Installs what building Arrow's C++ Plasma tests needs and a fresh machine may lack: a C++
# compiler and Debian's googletest sources (/usr/src/googletest). A no-op when both are present.
set -euo pipefail
missing=()
command -v g++ >/dev/null || missing+=(g++)
[[ -f /usr/src/googletest/googletest/src/gtest-all.cc ]] || missing+=(googletest)
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "install_cpp_test_deps: installing ${missing[*]}" >&2
  sudo_cmd=()
  [[ "$(id -u)" -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update >&2
  "${sudo_cmd[@]}" apt-get install -y "${missing[@]}" >&2
fi
