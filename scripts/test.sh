#!/usr/bin/env bash
# Runs every test suite: the whole solution once, then the kernel tests and the recipes' golden test again with AVX-512
# and with AVX2 switched off, so the Vector256 and scalar paths run on this machine too. Ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

# Install the npm test data when any package of tests/npm/package.json is missing.
if ! (cd tests/npm && node -e 'const fs = require("fs"); for (const d of Object.keys(require("./package.json").dependencies)) if (!fs.existsSync("node_modules/" + d + "/package.json")) process.exit(1)' 2>/dev/null); then
  (cd tests/npm && npm ci --no-audit --no-fund) || { echo "npm ci failed: tests need the tokenizer data packages"; echo "0 passed, 1 failed"; exit 1; }
fi

# The chat page's build tools, and Debian's Chromium for its browser tests.
if [ ! -f web/node_modules/esbuild/package.json ]; then
  (cd web && npm ci --no-audit --no-fund) || { echo "npm ci failed in web/: the page build check needs esbuild"; echo "0 passed, 1 failed"; exit 1; }
fi
if [ ! -x /usr/bin/chromium ]; then
  echo "note: /usr/bin/chromium is missing; the browser tests will fail (apt-get install chromium)"
fi

log=$(mktemp -d)
status=0
dotnet build SeekSharp.slnx -c Release -nologo -v q 2>&1 | tail -3 || status=1

run() { # name, env..., project
  local name=$1; shift
  echo "== $name"
  env "$@" 2>&1 | tee "$log/$name.txt"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
}
# The browser tests run on their own after the rest: their page-speed check and streaming timings measure the page,
# not five test processes competing for two cores.
run all dotnet test SeekSharp.slnx -c Release --no-build -nologo --filter "FullyQualifiedName!~SeekSharp.Web.Tests"
run web dotnet test tests/SeekSharp.Web.Tests -c Release --no-build -nologo
# .NET 10 reads DOTNET_EnableAVX512 (the whole AVX-512 group); DOTNET_EnableAVX512F is the name older runtimes read.
run kernels-no-avx512 DOTNET_EnableAVX512=0 DOTNET_EnableAVX512F=0 dotnet test tests/SeekSharp.Kernels.Tests -c Release --no-build -nologo
run kernels-no-avx2 DOTNET_EnableAVX512=0 DOTNET_EnableAVX512F=0 DOTNET_EnableAVX2=0 dotnet test tests/SeekSharp.Kernels.Tests -c Release --no-build -nologo
# The recipes' recorded bits at the two lower tiers as well (a few seconds each).
golden="FullyQualifiedName~RecipeGoldenTests"
run golden-no-avx512 DOTNET_EnableAVX512=0 dotnet test tests/SeekSharp.Training.Tests -c Release --no-build -nologo --filter "$golden"
run golden-no-avx2 DOTNET_EnableAVX512=0 DOTNET_EnableAVX2=0 dotnet test tests/SeekSharp.Training.Tests -c Release --no-build -nologo --filter "$golden"

# Each test project prints "Failed: a, Passed: b, Skipped: c, Total: d"; sum them over every run.
cat "$log"/*.txt | grep -oE 'Failed: +[0-9]+, Passed: +[0-9]+' | awk -F'[:,]' '{f+=$2; p+=$4} END {printf "%d passed, %d failed\n", p, f}' > "$log/summary"
passed=$(cut -d' ' -f1 "$log/summary"); failed=$(cut -d' ' -f3 "$log/summary")
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi   # a build or runner failure counts as a failure
[ "$passed" -gt 0 ] || status=1
echo "$passed passed, $failed failed"
exit $status
