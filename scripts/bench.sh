#!/usr/bin/env bash
# Safeguard's speed targets, measured side by side with osv-scanner.
#
#   scripts/bench.sh            Go benchmarks, then the 1,000-SBOM end-to-end run
#   SKIP_GO_BENCH=1 scripts/bench.sh   only the end-to-end run
#   SKIP_GO_BENCH=1 SKIP_E2E=1 BENCH_SCALE=10k scripts/bench.sh   crawl + reconcile at scale only
#
# 1. Go benchmarks in ./bench (BenchmarkIngestUBI9, BenchmarkReconcile1000).
# 2. End to end over N (default 1000) SBOM files: copies of a mixture of real
#    corpus SBOMs (bench.Mixture), each with distinct bytes and name.
#    Safeguard: `safeguard sbom ingest` of all N into a store (untimed
#    set-up), the feeds imported without re-matching (sgbench import), then
#    `sgbench match`: a full vuln.Reconcile over the store plus reading every
#    finding — timed, with peak RSS from /usr/bin/time -v.
#    osv-scanner v2.2.4: the same N files in one invocation (-L per file),
#    offline, with a database built from the same feeds — timed likewise.
#    Each side runs RUNS (default 3) times; medians, the ratio and peak RSS
#    are printed.
#
# 3. Registry crawl (BenchmarkCrawl1000x10, bench/crawl_test.go): first
#    crawl and unchanged re-crawl of 1,000 repositories x 10 tags on a
#    loopback in-memory registry, each in its own process so that peak RSS
#    is per case. SKIP_CRAWL=1 skips it; SAFEGUARD_BENCH_REPOS/_TAGS resize.
# 4. At scale, only with BENCH_SCALE=10k or BENCH_SCALE=100k (100k: ~45-60
#    min of set-up on a 2-vCPU VM): `sgbench build` stores 10,000 (and
#    100,000) SBOMs through IngestSBOM (untimed set-up, timed and reported),
#    `sgbench reconcile` times a full reconcile and reading all findings
#    separately (cold, then re-match), and on the 10k store `sgbench delta`
#    changes 1,000 Go advisories and times import + pending re-match.
#    SCALE_DIR keeps the stores (re-used when present).
#
# Environment: N, RUNS, OSV_SCANNER, BENCHTIME (go test -benchtime, default
# 3x), SAFEGUARD_BENCH_SBOMS (stored SBOMs in the Go benchmark, default 1000),
# KEEP=1 keeps the work directory, SKIP_E2E=1 skips the osv-scanner
# end-to-end run, SKIP_CRAWL=1, BENCH_SCALE, SCALE_DIR (see above).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
BIN="$ROOT/.bench/bin"
OSV_VERSION=v2.2.4
N="${N:-1000}"
RUNS="${RUNS:-3}"
FEEDS=(data/feeds/vulndb-data-osv.tar.gz data/feeds/ghsa-osv-356-records-maven-heavy.json)
# Keep in step with bench.Mixture (bench/bench.go).
MIXTURE=(
  data/sboms/keycloak-10.0.2-maven.cdx.json
  sbom/testdata/corpus/guac/oci-kubectl-linux-amd64-spdx.json
  sbom/testdata/corpus/cyclonedx-bom-examples/proton-bridge-v1.8.0-gomod.cdx.json
  sbom/testdata/corpus/cyclonedx-bom-examples/dropwizard-1.3.15-maven.cdx.json
  sbom/testdata/corpus/cyclonedx-bom-examples/keycloak-10.0.2-maven.cdx.json
  sbom/testdata/corpus/guac/quarkus-deps-cyclonedx.json
  sbom/testdata/corpus/claircore/go-builder-hummingbird-redhat-konflux-syft.spdx.json
  sbom/testdata/corpus/claircore/ubi9-9.6-redhat-konflux-syft.spdx.json
  sbom/testdata/corpus/cyclonedx-bom-examples/juice-shop-npm-flat.cdx-1.4.json
  sbom/testdata/corpus/guac/big-mongo-cyclonedx.json
  sbom/testdata/corpus/guac/oci-kubectl-linux-arm-v7-spdx.json
  sbom/testdata/corpus/syft/bitnami-postgresql.spdx.json
  sbom/testdata/corpus/kubevuln/alpine-3.17.spdx.json
)

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(go version | cut -d' ' -f3-), load average $(cut -d' ' -f1-3 /proc/loadavg)"

if [ ! -x /usr/bin/time ]; then
  echo "== installing GNU time (Debian package 'time')" >&2
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq time >&2
  else sudo apt-get update -qq && sudo apt-get install -y -qq time >&2; fi
fi

mkdir -p "$BIN"
OSV="${OSV_SCANNER:-$BIN/osv-scanner}"
if [ ! -x "$OSV" ] && [ "${SKIP_E2E:-0}" != 1 ]; then
  echo "== installing osv-scanner $OSV_VERSION into $BIN" >&2
  GOBIN="$BIN" go install "github.com/google/osv-scanner/v2/cmd/osv-scanner@$OSV_VERSION"
fi
go build -o "$BIN/safeguard" ./cmd/safeguard
go build -o "$BIN/sgbench" ./bench/sgbench

if [ "${SKIP_GO_BENCH:-0}" != 1 ]; then
  echo
  echo "== go test -bench 'IngestUBI9|Reconcile1000' -run '^\$' -benchtime ${BENCHTIME:-3x} ./bench/"
  go test -bench 'IngestUBI9|Reconcile1000' -run '^$' -benchtime "${BENCHTIME:-3x}" -timeout 60m ./bench/
fi

if [ "${SKIP_CRAWL:-0}" != 1 ]; then
  echo
  echo "== registry crawl, 1,000 repositories x 10 tags on a loopback registry (bench/crawl_test.go)"
  go test -c -o "$BIN/bench.test" ./bench/
  (cd bench && "$BIN/bench.test" -test.run '^$' -test.bench 'Crawl1000x10/first$' -test.benchtime "${CRAWL_BENCHTIME:-1x}" -test.timeout 60m)
  (cd bench && "$BIN/bench.test" -test.run '^$' -test.bench 'Crawl1000x10/recrawl$' -test.benchtime "${RECRAWL_BENCHTIME:-3x}" -test.timeout 60m)
fi

if [ -n "${BENCH_SCALE:-}" ]; then
  case "$BENCH_SCALE" in
    10k) SCALES=(10000) ;;
    100k) SCALES=(10000 100000) ;;
    *) echo "BENCH_SCALE=$BENCH_SCALE: want 10k or 100k" >&2; exit 2 ;;
  esac
  SDIR="${SCALE_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/safeguard-scale-XXXXXX")}"
  mkdir -p "$SDIR"
  peak() { awk -F': ' '/Maximum resident set size/ {printf "%d MiB", $2/1024}' "$1"; }
  swall() { awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; print s}' "$1"; }
  echo
  echo "== reconcile at scale: ${SCALES[*]} stored SBOMs (store files in $SDIR)"
  prev=0
  for n in "${SCALES[@]}"; do
    db="$SDIR/s$n.db"
    if [ ! -f "$db" ]; then
      # Set-up (untimed by the targets, reported): feeds without re-match,
      # then n SBOMs through IngestSBOM; 100k extends the 10k store.
      if [ "$prev" -gt 0 ]; then cp "$SDIR/s$prev.db" "$db"; START=(-start "$prev"); else START=(); fi
      /usr/bin/time -v -o "$SDIR/build$n.time" "$BIN/sgbench" build -db "$db" "${START[@]}" -n "$n" -every 5000 "${FEEDS[@]}" | tee "$SDIR/build$n.json"
      echo "   set-up peak RSS $(peak "$SDIR/build$n.time")"
    fi
    prev=$n
    cp "$db" "$SDIR/run.db"
    /usr/bin/time -v -o "$SDIR/reconcile$n.time" "$BIN/sgbench" reconcile -db "$SDIR/run.db" -runs 2 | tee "$SDIR/reconcile$n.json"
    echo "   reconcile process peak RSS $(peak "$SDIR/reconcile$n.time"), wall $(swall "$SDIR/reconcile$n.time") s"
    if [ "$n" = 10000 ]; then
      # The matched 10k store: 1,000 Go advisories changed, the whole Go feed
      # re-imported (as a re-downloaded export), then only the changed ones.
      cp "$SDIR/run.db" "$SDIR/delta.db"
      /usr/bin/time -v -o "$SDIR/delta.time" "$BIN/sgbench" delta -db "$SDIR/run.db" -n 1000 "${FEEDS[0]}" | tee "$SDIR/delta.json"
      echo "   delta process peak RSS $(peak "$SDIR/delta.time")"
      "$BIN/sgbench" delta -db "$SDIR/delta.db" -n 1000 -only-changed "${FEEDS[0]}" | tee "$SDIR/delta-only.json"
      rm -f "$SDIR"/delta.db*
    fi
    rm -f "$SDIR"/run.db*
  done
  if [ -z "${SCALE_DIR:-}" ] && [ "${KEEP:-0}" != 1 ]; then rm -rf "$SDIR"; fi
fi

if [ "${SKIP_E2E:-0}" = 1 ]; then exit 0; fi

SBOMS=()
for f in "${MIXTURE[@]}"; do
  if [ -f "$f" ]; then SBOMS+=("$f"); else echo "note: $f not found, left out of the mixture" >&2; fi
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/safeguard-bench-XXXXXX")"
if [ "${KEEP:-0}" != 1 ]; then trap 'rm -rf "$WORK"' EXIT; else echo "work directory: $WORK" >&2; fi

echo
echo "== end to end: $N SBOM files cycling through ${#SBOMS[@]} real SBOMs"
"$BIN/sgbench" copies -n "$N" -out "$WORK/sboms" "${SBOMS[@]}"
"$BIN/sgbench" osvdb -out "$WORK/osvdb" "${FEEDS[@]}" > /dev/null
mapfile -t FILES < <(find "$WORK/sboms" -type f | sort)
echo "   ${#FILES[@]} files, $(du -sh "$WORK/sboms" | cut -f1)"

# Safeguard set-up (untimed): store the N SBOMs, then the feeds.
t0=$(date +%s.%N)
printf '%s\0' "${FILES[@]}" | xargs -0 -n 50 "$BIN/safeguard" sbom ingest --db "$WORK/base.db" > "$WORK/ingest.log"
t1=$(date +%s.%N)
"$BIN/sgbench" import -db "$WORK/base.db" "${FEEDS[@]}"
t2=$(date +%s.%N)
printf '   set-up: safeguard sbom ingest of %d files %.1f s (decode + store; nothing to match yet), feed import %.1f s\n' \
  "${#FILES[@]}" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')" "$(awk -v a="$t1" -v b="$t2" 'BEGIN{print b-a}')"
tail -1 "$WORK/ingest.log" | sed 's/^/   /'

OSV_ARGS=()
for f in "${FILES[@]}"; do OSV_ARGS+=(-L "$f"); done

rss() { awk -F': ' '/Maximum resident set size/ {print $2}' "$1"; }
wall() { awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; print s}' "$1"; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

: > "$WORK/sg.times"; : > "$WORK/osv.times"
for i in $(seq 1 "$RUNS"); do
  # A fresh copy of the never-matched store each run: every run is the
  # first full match of the fleet.
  cp "$WORK/base.db" "$WORK/run.db"
  /usr/bin/time -v -o "$WORK/sg.time.$i" "$BIN/sgbench" match -db "$WORK/run.db" > "$WORK/sg.match.$i"
  rm -f "$WORK/run.db" "$WORK/run.db-wal" "$WORK/run.db-shm"
  printf '%s %s %s\n' "$(wall "$WORK/sg.time.$i")" "$(rss "$WORK/sg.time.$i")" \
    "$(sed 's/.*"match_seconds":\([0-9.e-]*\).*/\1/' "$WORK/sg.match.$i")" >> "$WORK/sg.times"

  rc=0
  /usr/bin/time -v -o "$WORK/osv.time.$i" "$OSV" scan source --offline-vulnerabilities --local-db-path "$WORK/osvdb" \
    --format json "${OSV_ARGS[@]}" > "$WORK/osv.$i.json" 2> "$WORK/osv.$i.stderr" || rc=$?
  if [ "$rc" -gt 1 ]; then echo "osv-scanner failed ($rc):" >&2; tail -20 "$WORK/osv.$i.stderr" >&2; exit 1; fi
  printf '%s %s\n' "$(wall "$WORK/osv.time.$i")" "$(rss "$WORK/osv.time.$i")" >> "$WORK/osv.times"
  echo "   run $i: safeguard $(head -c 300 "$WORK/sg.match.$i")"
  echo "   run $i: osv-scanner wall $(wall "$WORK/osv.time.$i") s, peak RSS $(rss "$WORK/osv.time.$i") KiB"
done

SG_WALL=$(cut -d' ' -f1 "$WORK/sg.times" | median)
SG_MATCH=$(cut -d' ' -f3 "$WORK/sg.times" | median)
SG_RSS=$(cut -d' ' -f2 "$WORK/sg.times" | sort -g | tail -1)
OSV_WALL=$(cut -d' ' -f1 "$WORK/osv.times" | median)
OSV_RSS=$(cut -d' ' -f2 "$WORK/osv.times" | sort -g | tail -1)

echo
echo "== result ($N SBOMs, median of $RUNS runs each)"
printf '  safeguard match (reconcile + read all findings): %.3f s in-process; process wall %.3f s (incl. opening the store); peak RSS %d MiB\n' \
  "$SG_MATCH" "$SG_WALL" "$((SG_RSS / 1024))"
printf '  osv-scanner offline, one invocation:             %.3f s wall; peak RSS %d MiB\n' "$OSV_WALL" "$((OSV_RSS / 1024))"
printf '  ratio osv-scanner / safeguard: %.1fx (process wall), %.1fx (match only)\n' \
  "$(awk -v a="$OSV_WALL" -v b="$SG_WALL" 'BEGIN{print a/b}')" "$(awk -v a="$OSV_WALL" -v b="$SG_MATCH" 'BEGIN{print a/b}')"
echo "  load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "${OUT:-}" ]; then mkdir -p "$OUT"; cp "$WORK"/sg.* "$WORK"/osv.times "$WORK"/osv.time.* "$WORK/osv.1.stderr" "$WORK/ingest.log" "$OUT"/; fi
