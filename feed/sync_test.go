package feed

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// vulndbZip rebuilds the Go vulndb tarball as an osv.dev-style all.zip
// (flat ID.json members), the layout the real bucket serves.
func vulndbZip(t testing.TB) (data []byte, records int) {
	t.Helper()
	f, err := os.Open(filepath.Join(feeds, "vulndb-data-osv.tar.gz"))
	must(t, err)
	defer f.Close()
	gz, err := gzip.NewReader(f)
	must(t, err)
	tr := tar.NewReader(gz)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(t, err)
		if h.Typeflag != tar.TypeReg || !strings.HasSuffix(h.Name, ".json") {
			continue
		}
		w, err := zw.Create(path.Base(h.Name))
		must(t, err)
		_, err = io.Copy(w, tr)
		must(t, err)
		records++
	}
	must(t, zw.Close())
	return buf.Bytes(), records
}

// feedServer serves the bundled feeds the way the real hosts do, plus
// failure modes. hits records the escaped request paths.
func feedServer(t *testing.T) (*httptest.Server, *[]string) {
	t.Helper()
	goZip, _ := vulndbZip(t)
	rocky := makeZip(t, []entry{
		{name: "RLSA-2021:3891.json", body: readString(t, filepath.Join(feeds, "osv-distro", "RLSA-2021_3891.json"))},
		{name: "RLSA-2023:3220.json", body: readString(t, filepath.Join(feeds, "osv-distro", "RLSA-2023_3220.json"))},
	})
	shared := goRecord("GHSA-shar-edxx-xxxx", "npm")
	npmZip := makeZip(t, []entry{{name: "GHSA-shar-edxx-xxxx.json", body: shared}, {name: "GHSA-only-npmx-xxxx.json", body: goRecord("GHSA-only-npmx-xxxx", "npm")}})
	pypiZip := makeZip(t, []entry{{name: "GHSA-shar-edxx-xxxx.json", body: shared}})
	kev := readString(t, filepath.Join(feeds, "known_exploited_vulnerabilities.json"))
	epss := gzipBytes(t, []byte("#model_version:v2025.03.14,score_date:2025-08-25T12:55:00Z\n"+strings.SplitN(readString(t, filepath.Join(feeds, "epss-excerpt-real.csv")), "\n", 2)[0]+"\n"+strings.SplitN(readString(t, filepath.Join(feeds, "epss-excerpt-real.csv")), "\n", 2)[1]))

	var mu sync.Mutex
	var hits []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits = append(hits, r.URL.EscapedPath())
		mu.Unlock()
		serve := func(b []byte) {
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			w.Write(b)
		}
		switch r.URL.EscapedPath() {
		case "/Go/all.zip":
			serve(goZip)
		case "/Rocky%20Linux/all.zip":
			serve(rocky)
		case "/npm/all.zip":
			serve(npmZip)
		case "/PyPI/all.zip":
			serve(pypiZip)
		case "/kev.json":
			serve([]byte(kev))
		case "/epss.csv.gz":
			serve(epss)
		case "/Broken/all.zip", "/kev500.json":
			http.Error(w, "boom", http.StatusInternalServerError)
		case "/Short/all.zip":
			// Declares the whole zip, sends half: the connection closes early.
			w.Header().Set("Content-Length", strconv.Itoa(len(goZip)))
			w.Write(goZip[:len(goZip)/2])
		case "/Chunked/all.zip":
			// No Content-Length, body simply stops: caught by the zip reader.
			w.Write(goZip[:len(goZip)/2])
		case "/epss-short.csv.gz":
			w.Write(epss[:len(epss)-10])
		case "/NotZip/all.zip":
			serve([]byte(kev))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func readString(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	must(t, err)
	return string(b)
}

func TestSyncOSV(t *testing.T) {
	srv, hits := feedServer(t)
	_, want := vulndbZip(t)
	s := &Syncer{OSVBaseURL: srv.URL + "/", Client: srv.Client()}
	b, err := s.SyncOSV(context.Background(), []string{"Go", "Rocky Linux"})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Advisories) != want+2 || want != 4789 {
		t.Errorf("%d advisories, want %d+2", len(b.Advisories), want)
	}
	if len(b.Sources) != 2 || b.Sources[1] != srv.URL+"/Rocky%20Linux/all.zip" {
		t.Errorf("sources %v", b.Sources)
	}
	if (*hits)[1] != "/Rocky%20Linux/all.zip" {
		t.Errorf("requested %v", *hits)
	}

	// A record published in two ecosystems' zips is kept once.
	b, err = s.SyncOSV(context.Background(), []string{"npm", "PyPI"})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Advisories) != 2 || len(b.Skipped) != 1 || b.Skipped[0].ID != "GHSA-shar-edxx-xxxx" {
		t.Errorf("%d advisories, skipped %+v", len(b.Advisories), b.Skipped)
	}
}

func TestSyncFailures(t *testing.T) {
	srv, _ := feedServer(t)
	s := &Syncer{OSVBaseURL: srv.URL, KEVURL: srv.URL + "/kev500.json", EPSSURL: srv.URL + "/epss-short.csv.gz", Client: srv.Client()}
	ctx := context.Background()
	tests := []struct {
		name string
		run  func() (*Batch, error)
		kind error
		want string
	}{
		{"500", func() (*Batch, error) { return s.SyncOSV(ctx, []string{"Broken"}) }, ErrDownload, "500"},
		{"kev 500", func() (*Batch, error) { return s.SyncKEV(ctx) }, ErrDownload, "kev500.json"},
		{"404", func() (*Batch, error) { return s.SyncOSV(ctx, []string{"Nope"}) }, ErrDownload, "404"},
		{"short body", func() (*Batch, error) { return s.SyncOSV(ctx, []string{"Short"}) }, ErrDownload, "Short/all.zip"},
		{"chunked truncated zip", func() (*Batch, error) { return s.SyncOSV(ctx, []string{"Chunked"}) }, ErrArchive, "Chunked/all.zip"},
		{"truncated gzip", func() (*Batch, error) { return s.SyncEPSS(ctx) }, ErrArchive, "epss-short.csv.gz"},
		{"wrong content", func() (*Batch, error) { return s.SyncOSV(ctx, []string{"NotZip"}) }, ErrUnknownFormat, "expected OSV records"},
		{"good then bad", func() (*Batch, error) { return s.SyncOSV(ctx, []string{"npm", "Broken"}) }, ErrDownload, "Broken"},
		{"no ecosystems", func() (*Batch, error) { return s.SyncOSV(ctx, nil) }, nil, "no ecosystems"},
		{"too large", func() (*Batch, error) {
			s2 := *s
			s2.Opts.MaxArchiveBytes = 1000
			return s2.SyncOSV(ctx, []string{"Go"})
		}, ErrTooLarge, "Content-Length"},
	}
	for _, tt := range tests {
		b, err := tt.run()
		if err == nil || b != nil || (tt.kind != nil && !errors.Is(err, tt.kind)) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: batch %v, err %v; want %v containing %q", tt.name, b != nil, err, tt.kind, tt.want)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.SyncOSV(cancelled, []string{"Go"}); !errors.Is(err, context.Canceled) || !errors.Is(err, ErrDownload) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestSyncKEVAndEPSS(t *testing.T) {
	srv, _ := feedServer(t)
	s := &Syncer{KEVURL: srv.URL + "/kev.json", EPSSURL: srv.URL + "/epss.csv.gz", Client: srv.Client()}
	b, err := s.SyncKEV(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(b.KEV) != 1404 || !b.KEVComplete || b.KEVCatalogVersion != "2025.08.25" {
		t.Errorf("KEV %d complete=%v %q", len(b.KEV), b.KEVComplete, b.KEVCatalogVersion)
	}
	b, err = s.SyncEPSS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(b.EPSS) != 70 || b.EPSSModelVersion != "v2025.03.14" || b.EPSSScoreDate != "2025-08-25T12:55:00Z" {
		t.Errorf("EPSS %d %q %q", len(b.EPSS), b.EPSSModelVersion, b.EPSSScoreDate)
	}
	// The KEV URL serving EPSS is refused rather than misread.
	s.KEVURL = srv.URL + "/epss.csv.gz"
	if _, err := s.SyncKEV(context.Background()); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("KEV from EPSS: %v", err)
	}
}
