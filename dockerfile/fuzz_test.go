package dockerfile

import (
	"bytes"
	"testing"

	"github.com/safeguard-dev/safeguard/imageref"
)

var knownKinds = map[string]bool{
	imageref.KindMalformed: true, imageref.KindTyposquatName: true, imageref.KindTyposquatNamespace: true,
	imageref.KindImpersonation: true, imageref.KindLookalikeRegistry: true, imageref.KindUnknownTag: true,
	imageref.KindLatest: true, imageref.KindUnpinned: true, KindUnresolved: true,
}

// FuzzLint: any bytes either fail to parse with a ParseError or lint to
// findings that each have a known kind, a message and a line inside the file.
func FuzzLint(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzLint (real-looking Dockerfiles) and this.
	f.Add([]byte("ARG A=${B:-x}\nFROM $A AS s\nCOPY --from=s / /\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Lint("fuzz", data, Options{BuildArgs: map[string]string{"GO": "1.22"}})
		if err != nil {
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("error is %T: %v", err, err)
			}
			return
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, x := range r.Findings {
			if !knownKinds[x.Kind] || x.Message == "" || x.Line < 1 || x.Line > lines {
				t.Fatalf("finding %+v (file has %d lines)", x, lines)
			}
		}
		if r.References > r.Stages+bytes.Count(data, []byte("from"))+bytes.Count(data, []byte("FROM"))+bytes.Count(data, []byte("From")) {
			t.Fatalf("%d references from %d stages", r.References, r.Stages)
		}
	})
}
