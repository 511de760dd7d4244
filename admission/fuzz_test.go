package admission

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/safeguard-dev/safeguard/gate"
)

// FuzzReview feeds arbitrary bodies to the webhook: it never panics, and
// answers either ErrMalformed or a response with the uid and, when it
// denies, a reason. Seeds: every request of the corpus (and
// testdata/fuzz/FuzzReview).
func FuzzReview(f *testing.F) {
	files, _ := filepath.Glob("testdata/connaisseur/*.json")
	cases, _ := filepath.Glob("testdata/cases/*.json")
	for _, p := range append(files, cases...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	w, err := New(Options{Evaluator: &tableGate{fallback: &answer{verdict: gate.Allow}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, mutate := range []bool{false, true} {
			out, err := w.Review(context.Background(), body, mutate)
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("error %v is not ErrMalformed", err)
				}
				continue
			}
			if out.Response == nil || out.Response.UID == "" {
				t.Fatal("answer without the uid")
			}
			if !out.Response.Allowed && (out.Response.Result == nil || out.Response.Result.Message == "") {
				t.Fatal("denial without a reason")
			}
		}
	})
}
