# Reads a slurped `go test -json` log (jq -rs -f report.jq) and prints what a
# reader needs: the output of every failed test, build and package-level
# failures, and each distinct skip reason once.

# The final action of each test, keyed by "package<TAB>test".
(map(select(.Test != null and (.Action == "pass" or .Action == "fail" or .Action == "skip")))
 | map({key: "\(.Package)\t\(.Test)", value: .Action}) | from_entries) as $final

| def final: $final["\(.Package)\t\(.Test)"];
  def framing: .Output | test("^\\s*(=== |--- )");

  [ (.[] | select(.Action == "output" and .Test != null and final == "fail") | .Output),
    (.[] | select(.Action == "build-output") | .Output),
    (.[] | select(.Action == "output" and .Test == null and (.Output | test("^(FAIL|panic|ok )"))) | .Output) ]
  + ([.[] | select(.Action == "output" and .Test != null and final == "skip" and (framing | not))
          | "skip: " + (.Output | sub("^\\s+(\\S+\\.go:[0-9]+: )?"; ""))] | unique)
| .[]
