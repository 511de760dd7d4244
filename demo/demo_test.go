package demo

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/safeguard-dev/safeguard/data"
)

func TestPushAttachesSBOMsAsReferrers(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.WithReferrersSupport(true)))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	ctx := context.Background()
	digests, err := Push(ctx, host, data.FS, Samples, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if len(digests) != len(Samples) {
		t.Fatalf("pushed %d of %d", len(digests), len(Samples))
	}
	for _, s := range Samples {
		d := digests[s.Repository+":"+s.Tag]
		ref, _ := name.NewDigest(host+"/"+s.Repository+"@"+d.String(), name.Insecure)
		idx, err := remote.Referrers(ref, remote.WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		m, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Manifests) != 1 || m.Manifests[0].ArtifactType != s.MediaType {
			t.Fatalf("%s referrers: %+v", s.Repository, m.Manifests)
		}
	}
}
