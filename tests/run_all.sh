#!/usr/bin/env bash
# Runs every test: the .NET suites (xunit via dotnet test) and the Python suite (pytest on Debian's python3).
# Ends with one line "N passed, N failed" summing both, and exits non-zero when anything failed.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
"$root/tools/bootstrap.sh" || exit 1
results="$root/.emmask-build/test-results"
rm -rf "$results"; mkdir -p "$results"

echo "== build (Release)"
if ! dotnet build EmMaskPlugin.sln -c Release -nologo -v q; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

echo "== .NET tests"
# The collector-race tests (a thread collecting garbage continuously) run alone afterwards: beside the other
# assemblies, which dotnet test runs in parallel, they starved a CLI test past its time guard.
dotnet test EmMaskPlugin.sln -c Release --no-build -nologo -v q --filter "Category!=CollectorRace" \
  --logger "trx" --results-directory "$results/dotnet" -- RunConfiguration.TreatNoTestsAsError=false
dotnet_rc=$?
echo "== .NET collector-race tests"
dotnet test tests/EmMask.Learning.Tests/EmMask.Learning.Tests.csproj -c Release --no-build -nologo -v q \
  --filter "Category=CollectorRace" --logger "trx;LogFileName=collector-races.trx" --results-directory "$results/dotnet"
race_rc=$?
if [ $race_rc -ne 0 ]; then dotnet_rc=$race_rc; fi

echo "== Python tests"
export EM_MASK_DOTNET_DIR="${EM_MASK_DOTNET_DIR:-$root/dotnet/EmMask.Host/bin/Release/net10.0}"
/usr/bin/python3 -m pytest tests/python -q -p no:cacheprovider --junitxml="$results/pytest.xml"
py_rc=$?

/usr/bin/python3 - "$results" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
results = sys.argv[1]
passed = failed = skipped = 0
for trx in glob.glob(f"{results}/dotnet/*.trx"):
    c = ET.parse(trx).getroot().find(".//{*}Counters")
    if c is None:
        continue
    passed += int(c.get("passed", 0))
    failed += int(c.get("failed", 0)) + int(c.get("error", 0)) + int(c.get("timeout", 0)) + int(c.get("aborted", 0))
    skipped += int(c.get("notExecuted", 0))
try:
    root = ET.parse(f"{results}/pytest.xml").getroot()
    for s in ([root] if root.tag == "testsuite" else root.findall("testsuite")):
        t, f, e, sk = (int(s.get(k, 0)) for k in ("tests", "failures", "errors", "skipped"))
        passed += t - f - e - sk
        failed += f + e
        skipped += sk
except (OSError, ET.ParseError):
    failed += 1  # pytest did not produce a report: count it as a failure
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
if [ $dotnet_rc -ne 0 ] || [ $py_rc -ne 0 ]; then exit 1; fi
