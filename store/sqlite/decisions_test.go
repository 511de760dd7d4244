package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/safeguard-dev/safeguard/store"
	"github.com/safeguard-dev/safeguard/store/storetest"
)

func TestDecisionConformance(t *testing.T) {
	storetest.RunDecisions(t, func(t *testing.T) storetest.DecisionLog {
		s, err := Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestIndexChildren(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.RecordIndex(ctx, "r/app", "sha256:i", "application/vnd.oci.image.index.v1+json", []string{"sha256:a", "sha256:b"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.IndexChildren(ctx, "sha256:i")
	if err != nil || !slices.Equal(got, []string{"sha256:a", "sha256:b"}) {
		t.Fatalf("children %v %v", got, err)
	}
	if _, err := s.IndexChildren(ctx, "sha256:a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("not an index: %v", err)
	}
}

func TestPublishedConformance(t *testing.T) {
	storetest.RunPublished(t, func(t *testing.T) storetest.Published {
		s, err := Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
