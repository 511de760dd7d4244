#!/usr/bin/env bash
# Compare `safeguard scan` with osv-scanner (offline) on the same real SBOMs
# and the same OSV data, reproducibly.
#
#   scripts/compare-osv-scanner.sh [SBOM...]
#
# Without arguments it uses the Go-module and Maven-heavy real SBOMs bundled
# in the repository (whichever of them exist). Byte-identical inputs are
# scanned once.
#
# What it does:
#   1. installs osv-scanner v2.2.4 into .bench/bin when missing (go install);
#   2. builds .bench/bin/safeguard and .bench/bin/sgbench (bench/sgbench);
#   3. builds osv-scanner's offline database from the SAME feeds Safeguard
#      imports: <db>/osv-scanner/<Ecosystem>/all.zip, one zip per ecosystem
#      (the Go vulndb tarball's records, and each GHSA record in the zip of
#      every ecosystem its affected[] names);
#   4. copies the SBOMs to names osv-scanner v2 recognises (*.spdx.json,
#      *.cdx.json);
#   5. runs both tools 3 times each (JSON output), reports the median wall
#      time of each, and compares the findings normalised to
#      (sbom, package, version, alias group).
#
# Environment: OSV_SCANNER (binary to use instead of the pinned install),
# RUNS (default 3), KEEP=1 keeps the work directory.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
BIN="$ROOT/.bench/bin"
OSV_VERSION=v2.2.4
RUNS="${RUNS:-3}"
FEEDS=(data/feeds/vulndb-data-osv.tar.gz data/feeds/ghsa-osv-356-records-maven-heavy.json)
DEFAULT_SBOMS=(
  data/sboms/kubectl-linux-amd64.spdx.json
  data/sboms/keycloak-10.0.2-maven.cdx.json
  sbom/testdata/corpus/guac/oci-kubectl-linux-amd64-spdx.json
  sbom/testdata/corpus/cyclonedx-bom-examples/proton-bridge-v1.8.0-gomod.cdx.json
  sbom/testdata/corpus/cyclonedx-bom-examples/dropwizard-1.3.15-maven.cdx.json
  sbom/testdata/corpus/cyclonedx-bom-examples/keycloak-10.0.2-maven.cdx.json
  sbom/testdata/corpus/guac/quarkus-deps-cyclonedx.json
  sbom/testdata/corpus/claircore/go-builder-hummingbird-redhat-konflux-syft.spdx.json
)

mkdir -p "$BIN"
OSV="${OSV_SCANNER:-$BIN/osv-scanner}"
if [ ! -x "$OSV" ]; then
  echo "== installing osv-scanner $OSV_VERSION into $BIN" >&2
  GOBIN="$BIN" go install "github.com/google/osv-scanner/v2/cmd/osv-scanner@$OSV_VERSION"
fi
echo "== building safeguard and sgbench" >&2
go build -o "$BIN/safeguard" ./cmd/safeguard
go build -o "$BIN/sgbench" ./bench/sgbench

if [ $# -gt 0 ]; then SBOMS=("$@"); else
  SBOMS=()
  for f in "${DEFAULT_SBOMS[@]}"; do
    if [ -f "$f" ]; then SBOMS+=("$f"); else echo "note: $f not found, skipped" >&2; fi
  done
fi
[ ${#SBOMS[@]} -gt 0 ] || { echo "no SBOMs to compare" >&2; exit 2; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/safeguard-compare-XXXXXX")"
if [ "${KEEP:-0}" != 1 ]; then trap 'rm -rf "$WORK"' EXIT; else echo "work directory: $WORK" >&2; fi

echo "== osv-scanner offline database from ${FEEDS[*]}" >&2
"$BIN/sgbench" osvdb -out "$WORK/osvdb" "${FEEDS[@]}" >&2
"$BIN/sgbench" stage -out "$WORK/sboms" "${SBOMS[@]}" > "$WORK/names.tsv"
mapfile -t STAGED < <(cut -f1 "$WORK/names.tsv")

OSV_ARGS=()
for f in "${STAGED[@]}"; do OSV_ARGS+=(-L "$f"); done

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }

run_safeguard() {
  "$BIN/safeguard" scan --format json --db "$WORK/sg-$1.db" \
    --feed "${FEEDS[0]}" --feed "${FEEDS[1]}" "${STAGED[@]}" > "$WORK/safeguard.json"
}
run_osv() {
  # Exit status 1 means "vulnerabilities found"; anything above is an error.
  local rc=0
  "$OSV" scan source --offline-vulnerabilities --local-db-path "$WORK/osvdb" \
    --format json "${OSV_ARGS[@]}" > "$WORK/osv-scanner.json" 2> "$WORK/osv-scanner.stderr" || rc=$?
  if [ "$rc" -gt 1 ]; then echo "osv-scanner failed ($rc):" >&2; cat "$WORK/osv-scanner.stderr" >&2; exit 1; fi
}

: > "$WORK/t-safeguard"; : > "$WORK/t-osv"
for i in $(seq 1 "$RUNS"); do
  t0=$(now); run_safeguard "$i"; t1=$(now)
  awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f\n", b-a}' >> "$WORK/t-safeguard"
  t0=$(now); run_osv; t1=$(now)
  awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f\n", b-a}' >> "$WORK/t-osv"
done

echo
echo "SBOMs compared:"
cut -f2 "$WORK/names.tsv" | sed 's/^/  /'
echo
"$BIN/sgbench" compare -safeguard "$WORK/safeguard.json" -osv "$WORK/osv-scanner.json" \
  -names "$WORK/names.tsv" -json "$WORK/compare.json" "${FEEDS[@]}"
echo
if grep -q "could not load db" "$WORK/osv-scanner.stderr"; then
  echo "osv-scanner had no database for some ecosystems (no data for them in these feeds; Safeguard has none either):"
  grep -o "could not load db for [^ ]* ecosystem" "$WORK/osv-scanner.stderr" | sort -u | sed 's/^/  /'
  echo
fi
printf 'wall time, median of %s runs (scan including feed load, %d SBOMs):\n' "$RUNS" "${#STAGED[@]}"
printf '  safeguard scan      %.3f s   (runs: %s)\n' "$(median < "$WORK/t-safeguard")" "$(xargs printf '%.3f ' < "$WORK/t-safeguard")"
printf '  osv-scanner offline %.3f s   (runs: %s)\n' "$(median < "$WORK/t-osv")" "$(xargs printf '%.3f ' < "$WORK/t-osv")"
echo "  $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'); osv-scanner $("$OSV" --version 2>/dev/null | head -1)"
if [ -n "${OUT:-}" ]; then cp "$WORK/safeguard.json" "$WORK/osv-scanner.json" "$WORK/compare.json" "$WORK/names.tsv" "$OUT"/; fi
