#!/usr/bin/env bash
# clang-tidy (the checks in .clang-tidy) over the project's C++ sources, using the compile
# commands of a configured build (build/compile_commands.json). Any finding fails.
#
#   scripts/tidy.sh --all        every source of actors, client, runtime, schema, sim, storage
#                                (about 6 minutes on 2 cores)
#   scripts/tidy.sh --changed    the sources changed since the commit in .ci/tidy-base, the last
#                                one the whole tree was checked at (CI; update it after --all)
#   scripts/tidy.sh FILE...      these files
# Environment: BUILD_DIR (build), JOBS (2).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
jobs=${JOBS:-2}
command -v run-clang-tidy >/dev/null || { echo "tidy: clang-tidy is missing (Debian package clang-tidy)" >&2; exit 2; }
[ -f "$build/compile_commands.json" ] || { echo "tidy: no $build/compile_commands.json (build first)" >&2; exit 2; }
modules='actors|client|runtime|schema|sim|storage'
case "${1:-}" in
  --all)
    files=$(git ls-files '*.cpp' | grep -E "^($modules)/" || true) ;;
  --changed)
    base=$(cat .ci/tidy-base)
    if git cat-file -e "$base^{commit}" 2>/dev/null; then
      files=$(git diff --name-only --diff-filter=d "$base" HEAD -- '*.cpp' | grep -E "^($modules)/" || true)
    else
      # A shallow clone without the base: check everything rather than nothing.
      echo "tidy: base $base is not in this clone; checking every source"
      files=$(git ls-files '*.cpp' | grep -E "^($modules)/" || true)
    fi ;;
  "")
    echo "usage: scripts/tidy.sh --all | --changed | FILE..." >&2; exit 2 ;;
  *)
    files=$(printf '%s\n' "$@") ;;
esac
if [ -z "$files" ]; then
  echo "tidy: no C++ source to check"
  exit 0
fi
count=$(wc -w <<<"$files")
echo "tidy: $count file(s)"
regex=$(sed -E 's/[.]/[.]/g' <<<"$files" | paste -sd'|')
out=$(run-clang-tidy -p "$build" -j "$jobs" -quiet "($regex)\$" 2>&1 || true)
# Every file must have been checked (a file without a compile command would pass unseen).
checked=$(grep -c '^clang-tidy' <<<"$out" || true)
if [ "$checked" -lt "$count" ]; then
  echo "tidy: only $checked clang-tidy run(s) for $count file(s); is every file in $build/compile_commands.json?" >&2
  exit 2
fi
findings=$(sed 's/\x1b\[[0-9;]*m//g' <<<"$out" | grep -E '(error|warning): ' | sort -u || true)
if [ -n "$findings" ]; then
  echo "$findings"
  echo "tidy: $(wc -l <<<"$findings") finding(s); fix them or justify a NOLINT(check) in the line"
  exit 1
fi
echo "tidy: clean"
