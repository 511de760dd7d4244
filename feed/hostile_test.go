package feed

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// goRecord is a valid Go vulndb-style record.
func goRecord(id, eco string) string {
	return `{"schema_version":"1.3.1","id":"` + id + `","modified":"0001-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"` + eco + `","name":"example.com/m"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.3"}]}]}]}`
}

func TestBadFiles(t *testing.T) {
	tests := []struct {
		file string
		kind error
		want []string // substrings of the message
	}{
		{"osv-truncated.json", ErrInvalidRecord, []string{"osv-truncated.json", "truncated JSON"}},
		{"osv-invalid.json", ErrInvalidRecord, []string{"osv-invalid.json", "invalid JSON at byte"}},
		{"osv-wrong-type.json", ErrInvalidRecord, []string{"record GHSA-xxxx-yyyy-zzzz", "field affected"}},
		{"not-json.txt", ErrUnknownFormat, []string{"not-json.txt", `"this is {not json"`}},
		{"osv-unknown-ecosystem.json", ErrInvalidRecord, []string{`osv-unknown-ecosystem.json: record GO-2024-0001: affected[0]: unknown ecosystem "Gopher"`}},
		{"osv-malformed-range.json", ErrInvalidRecord, []string{"record GHSA-xxxx-yyyy-zzzz: affected[0]: ranges[0]: SEMVER range has no introduced event"}},
		{"kev-missing-cveid.json", ErrInvalidRecord, []string{"vulnerabilities[1]: missing cveID"}},
		{"kev-not-array.json", ErrInvalidRecord, []string{"vulnerabilities is not an array"}},
		{"kev-count-mismatch.json", ErrInvalidRecord, []string{"count says 1404 but vulnerabilities holds 1"}},
		{"kev-bad-date.json", ErrInvalidRecord, []string{"vulnerabilities[0] (CVE-2025-48384): dateAdded \"25/08/2025\""}},
		{"kev-missing-version.json", ErrInvalidRecord, []string{"missing catalogVersion"}},
		{"epss-bad-header.csv", ErrInvalidRecord, []string{"epss-bad-header.csv: line 2: bad header"}},
		{"epss-non-numeric.csv", ErrInvalidRecord, []string{"epss-non-numeric.csv: line 4: epss \"high\": not a number"}},
		{"epss-out-of-range.csv", ErrInvalidRecord, []string{"line 2: epss \"1.5\": outside [0,1]"}},
		{"epss-extra-field.csv", ErrInvalidRecord, []string{"line 2: want 3 fields"}},
		{"epss-no-rows.csv", ErrInvalidRecord, []string{"no score rows"}},
		{"epss-bad-cve.csv", ErrInvalidRecord, []string{"line 4: \"GHSA-1234\" is not a CVE id"}},
	}
	for _, tt := range tests {
		_, err := Load(filepath.Join("testdata/bad", tt.file), Options{})
		if !errors.Is(err, tt.kind) {
			t.Errorf("%s: %v; want %v", tt.file, err, tt.kind)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", tt.file, err, w)
			}
		}
	}
}

type entry struct {
	name     string
	body     string
	typeflag byte   // tar only; 0 = regular
	link     string // tar only
	mode     fs.FileMode
}

func makeTarGz(t testing.TB, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: e.typeflag, Linkname: e.link, Format: tar.FormatPAX}
		if e.typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		must(t, tw.WriteHeader(h))
		if h.Size > 0 {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	must(t, tw.Close())
	must(t, gz.Close())
	return buf.Bytes()
}

func makeZip(t testing.TB, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		w, err := zw.CreateHeader(h)
		must(t, err)
		_, err = w.Write([]byte(e.body))
		must(t, err)
	}
	must(t, zw.Close())
	return buf.Bytes()
}

func TestArchiveErrorNamesEntry(t *testing.T) {
	data := makeTarGz(t, []entry{
		{name: "osv/", typeflag: tar.TypeDir},
		{name: "osv/GO-2024-0001.json", body: goRecord("GO-2024-0001", "Go")},
		{name: "osv/GO-2024-1.json", body: goRecord("GO-2024-1", "Gopher")},
	})
	p := writeTemp(t, "vulndb.tar.gz", data)
	_, err := Load(p, Options{})
	want := p + `: osv/GO-2024-1.json: record GO-2024-1: affected[0]: unknown ecosystem "Gopher"`
	if err == nil || err.Error() != want || !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
	// The same from a zip.
	z := makeZip(t, []entry{{name: "GO-2024-1.json", body: goRecord("GO-2024-1", "Gopher")}})
	p = writeTemp(t, "all.zip", z)
	_, err = Load(p, Options{})
	if want := p + `: GO-2024-1.json: record GO-2024-1: affected[0]: unknown ecosystem "Gopher"`; err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}

func TestArchivesIgnoreNonJSON(t *testing.T) {
	members := []entry{
		{name: "LICENSE", body: "Creative Commons"},
		{name: "NOTICES", body: "notices"},
		{name: "osv/GO-2024-0001.json", body: goRecord("GO-2024-0001", "Go")},
		{name: "osv/README.md", body: "# hi"},
	}
	for name, data := range map[string][]byte{
		"a.tar.gz": makeTarGz(t, members),
		"a.zip":    makeZip(t, members),
	} {
		b, err := Load(writeTemp(t, name, data), Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(b.Advisories) != 1 || len(b.Sources) != 1 {
			t.Errorf("%s: %d advisories, sources %v", name, len(b.Advisories), b.Sources)
		}
	}
	// Only non-JSON: nothing to import is an error, not an empty success.
	only := []entry{{name: "LICENSE", body: "x"}}
	for name, data := range map[string][]byte{"b.tar.gz": makeTarGz(t, only), "b.zip": makeZip(t, only)} {
		if _, err := Load(writeTemp(t, name, data), Options{}); !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestArchiveTraversal(t *testing.T) {
	rec := goRecord("GO-2024-0001", "Go")
	for _, name := range []string{"../x.json", "/etc/x.json", "osv/../../x.json", `..\x.json`, `C:\x.json`, "osv/../.."} {
		for kind, data := range map[string][]byte{
			"tgz": makeTarGz(t, []entry{{name: name, body: rec}}),
			"zip": makeZip(t, []entry{{name: name, body: rec}}),
		} {
			_, err := Load(writeTemp(t, "x."+kind, data), Options{})
			if !errors.Is(err, ErrArchive) || !strings.Contains(err.Error(), strconv.Quote(name)) {
				t.Errorf("%s %q: %v; want ErrArchive naming the entry", kind, name, err)
			}
		}
	}
}

func TestTarSpecialEntries(t *testing.T) {
	rec := goRecord("GO-2024-0001", "Go")
	tests := []struct {
		e    entry
		want string
	}{
		{entry{name: "osv/link.json", typeflag: tar.TypeSymlink, link: "/etc/passwd"}, `link to "/etc/passwd"`},
		{entry{name: "osv/hard.json", typeflag: tar.TypeLink, link: "osv/GO-2024-0001.json"}, "link to"},
		{entry{name: "dev/tty", typeflag: tar.TypeChar}, "device or fifo"},
		{entry{name: "dev/sda", typeflag: tar.TypeBlock}, "device or fifo"},
		{entry{name: "fifo", typeflag: tar.TypeFifo}, "device or fifo"},
	}
	for _, tt := range tests {
		data := makeTarGz(t, []entry{{name: "osv/GO-2024-0001.json", body: rec}, tt.e})
		_, err := Load(writeTemp(t, "x.tgz", data), Options{})
		if !errors.Is(err, ErrArchive) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.e.name) {
			t.Errorf("%s: %v", tt.e.name, err)
		}
	}
	// A zip entry flagged as a symbolic link is refused too.
	z := makeZip(t, []entry{{name: "link.json", body: "/etc/passwd", mode: fs.ModeSymlink | 0o777}})
	if _, err := Load(writeTemp(t, "l.zip", z), Options{}); !errors.Is(err, ErrArchive) || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("zip symlink: %v", err)
	}
}

func TestArchiveTooManyEntries(t *testing.T) {
	var es []entry
	for i := 0; i < 11; i++ {
		es = append(es, entry{name: "f" + string(rune('a'+i)) + ".txt", body: "x"})
	}
	for name, data := range map[string][]byte{"m.tgz": makeTarGz(t, es), "m.zip": makeZip(t, es)} {
		_, err := Load(writeTemp(t, name, data), Options{MaxEntries: 10})
		if !errors.Is(err, ErrArchive) || !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The declared count is checked before archive/zip reads the directory.
	n, ok := zipDeclaredEntries(bytes.NewReader(makeZip(t, es)), int64(len(makeZip(t, es))))
	if !ok || n != 11 {
		t.Errorf("declared entries %d %v", n, ok)
	}
	big := makeZip(t, es)
	big[len(big)-22+10], big[len(big)-22+11] = 0xfe, 0xff // claim 65534
	if _, err := Load(writeTemp(t, "claims.zip", big), Options{MaxEntries: 1000}); !errors.Is(err, ErrArchive) || !strings.Contains(err.Error(), "declares 65534 entries") {
		t.Errorf("declared count: %v", err)
	}
	dir := t.TempDir()
	for i := 0; i < 3; i++ {
		must(t, os.WriteFile(filepath.Join(dir, string(rune('a'+i))+".json"), []byte(goRecord("GO-2024-000"+string(rune('1'+i)), "Go")), 0o644))
	}
	if _, err := Load(dir, Options{MaxEntries: 2}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("directory: %v", err)
	}
}

func TestZipBombs(t *testing.T) {
	zeros := strings.Repeat("\x00", 10<<20)

	// Honest header over the per-file limit: refused before inflating.
	z := makeZip(t, []entry{{name: "big.json", body: zeros}})
	_, err := Load(writeTemp(t, "big.zip", z), Options{MaxFileBytes: 1 << 20})
	if !errors.Is(err, ErrArchive) || !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "big.json") {
		t.Errorf("big entry: %v", err)
	}

	// Within the size limit but a ~1000:1 ratio.
	z = makeZip(t, []entry{{name: "ratio.json", body: zeros[:4<<20]}})
	_, err = Load(writeTemp(t, "ratio.zip", z), Options{})
	if !errors.Is(err, ErrArchive) || !strings.Contains(err.Error(), "ratio") {
		t.Errorf("ratio: %v", err)
	}

	// A header that lies: claims 100 bytes, inflates to 10 MiB. The limit
	// must hold on the bytes read, not on the header.
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestCompression)
	fw.Write([]byte(zeros))
	fw.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "liar.json", Method: zip.Deflate, CRC32: crc32.ChecksumIEEE([]byte(zeros)), CompressedSize64: uint64(comp.Len()), UncompressedSize64: 100})
	must(t, err)
	w.Write(comp.Bytes())
	must(t, zw.Close())
	_, err = Load(writeTemp(t, "liar.zip", buf.Bytes()), Options{})
	if !errors.Is(err, ErrArchive) || !strings.Contains(err.Error(), "liar.json") {
		t.Errorf("lying header: %v", err)
	}

	// Each entry small, the total over MaxArchiveBytes.
	var es []entry
	for i := 0; i < 5; i++ {
		es = append(es, entry{name: "r" + string(rune('0'+i)) + ".json", body: goRecord("GO-2024-000"+string(rune('0'+i)), "Go")})
	}
	z = makeZip(t, es)
	_, err = Load(writeTemp(t, "total.zip", z), Options{MaxArchiveBytes: 600})
	if !errors.Is(err, ErrTooLarge) || !errors.Is(err, ErrArchive) {
		t.Errorf("total: %v", err)
	}
}

func TestGzipBombs(t *testing.T) {
	zeros := make([]byte, 16<<20)
	// A gzip stream (not a tar) of zeros: stopped by the ratio guard.
	_, err := Load(writeTemp(t, "z.gz", gzipBytes(t, zeros)), Options{})
	if !errors.Is(err, ErrArchive) || !errors.Is(err, ErrTooLarge) {
		t.Errorf("gzip of zeros: %v", err)
	}
	// A tar member over the per-file limit.
	data := makeTarGz(t, []entry{{name: "osv/big.json", body: string(zeros[:2<<20])}})
	_, err = Load(writeTemp(t, "big.tgz", data), Options{MaxFileBytes: 1 << 20})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "osv/big.json") {
		t.Errorf("big tar member: %v", err)
	}
	// Total decompressed size over the archive limit.
	_, err = Load(filepath.Join(feeds, "vulndb-data-osv.tar.gz"), Options{MaxArchiveBytes: 1 << 20})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("archive limit: %v", err)
	}
	// A plain file over MaxFileBytes.
	_, err = Load(filepath.Join(feeds, "known_exploited_vulnerabilities.json"), Options{MaxFileBytes: 1 << 20})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("file limit: %v", err)
	}
}

func TestTruncatedArchives(t *testing.T) {
	real, err := os.ReadFile(filepath.Join(feeds, "vulndb-data-osv.tar.gz"))
	must(t, err)
	for _, n := range []int{10, 1000, len(real) / 2, len(real) - 8} {
		_, err := Load(writeTemp(t, "cut.tar.gz", real[:n]), Options{})
		if !errors.Is(err, ErrArchive) {
			t.Errorf("tar.gz cut at %d: %v", n, err)
		}
	}
	z := makeZip(t, []entry{{name: "a.json", body: goRecord("GO-2024-0001", "Go")}})
	for _, n := range []int{10, len(z) / 2, len(z) - 5} {
		_, err := Load(writeTemp(t, "cut.zip", z[:n]), Options{})
		if !errors.Is(err, ErrArchive) {
			t.Errorf("zip cut at %d: %v", n, err)
		}
	}
}
