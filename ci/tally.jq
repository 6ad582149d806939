# Reads a slurped `go test -json` log (jq -rs -f tally.jq) and prints
# "passed failed skipped", counting leaf tests: a test with subtests counts
# through its subtests. A package that fails without a failing test (build
# error, panic in TestMain, timeout) counts as one failure.
def leaf($names): . as $n | ($names | map(select(startswith($n + "/"))) | length) == 0;

(map(select(.Test != null and (.Action == "pass" or .Action == "fail" or .Action == "skip")))) as $done
| ($done | group_by(.Package)
    | map((map(.Test)) as $names | map(select(.Test | leaf($names))))
    | add // []) as $leaves
| (map(select(.Test == null and .Action == "fail")) | map(.Package)) as $pkgfail
| ($done | map(select(.Action == "fail")) | map(.Package) | unique) as $testfail
| ($pkgfail | map(select(. as $p | $testfail | index($p) | not)) | length) as $extra
| "\($leaves | map(select(.Action == "pass")) | length) \(($leaves | map(select(.Action == "fail")) | length) + $extra) \($leaves | map(select(.Action == "skip")) | length)"
