package imageref

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// hubMirror is an in-memory registry holding library/alpine with a few
// real alpine tags, standing in for Docker Hub through a mirror.
func hubMirror(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"3.15", "3.19", "3.20", "latest"} {
		ref, err := name.NewTag(host + "/library/alpine:" + tag)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
	}
	return host
}

type countingTransport struct{ n atomic.Int32 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/tags/list") {
		c.n.Add(1)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func tagFinding(t *testing.T, s string, l TagLister) *Finding {
	t.Helper()
	_, fs := CheckString(s, nil, l)
	for _, f := range fs {
		if f.Kind == KindUnknownTag {
			return &f
		}
	}
	return nil
}

func TestRegistryTagsAgainstARegistry(t *testing.T) {
	host := hubMirror(t)
	ct := &countingTransport{}
	l := &RegistryTags{Transport: ct, Mirrors: map[string]string{DockerHub: host}, Timeout: 10 * time.Second}
	tags, err := l.Tags(MustParse("alpine"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(tags, ",") != "3.15,3.19,3.20,latest" {
		t.Fatalf("tags %v", tags)
	}
	if f := tagFinding(t, "alpine:3.20", l); f != nil {
		t.Errorf("alpine:3.20 is in the list: %+v", f)
	}
	f := tagFinding(t, "alpine:3.154", l)
	if f == nil || f.Resembles != "alpine:3.15" || f.Suggestion != "alpine:3.15" || !strings.Contains(f.Message, "tag list") {
		t.Fatalf("alpine:3.154: %+v", f)
	}
	// The list is what the registry has: 3.18 fits the release pattern,
	// but this registry does not have it.
	f = tagFinding(t, "alpine:3.18", l)
	if f == nil || !strings.Contains(f.Message, "not in the registry's tag list") || f.Suggestion == "" {
		t.Fatalf("alpine:3.18: %+v", f)
	}
	// One listing per repository however many references name it.
	if n := ct.n.Load(); n != 1 {
		t.Errorf("%d tag listings, want 1", n)
	}
	// Images the catalogue does not judge are not listed at all.
	if f := tagFinding(t, "ghcr.io/acme/tool:9", l); f != nil {
		t.Errorf("ghcr.io/acme/tool: %+v", f)
	}
}

func TestRegistryTagsUnreachableFallsBack(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	host := strings.TrimPrefix(srv.URL, "http://")
	srv.Close() // nothing listens there now
	l := &RegistryTags{Mirrors: map[string]string{DockerHub: host}, Timeout: 5 * time.Second}
	if _, err := l.Tags(MustParse("alpine")); err == nil {
		t.Fatal("listing a closed port succeeded")
	}
	f := tagFinding(t, "alpine:3.154", l)
	if f == nil || f.Suggestion != "alpine:3.15" || !strings.Contains(f.Message, "no release tag has this form") {
		t.Fatalf("alpine:3.154 without a registry: %+v", f)
	}
	if f := tagFinding(t, "alpine:3.18", l); f != nil {
		t.Errorf("alpine:3.18 fits the release pattern: %+v", f)
	}
}

// An unreachable host is asked once, however many repositories it holds;
// a registry that answers with an HTTP error is asked again for the next.
func TestRegistryTagsRemembersUnreachableHosts(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	closed := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	var dials atomic.Int32
	l := &RegistryTags{Transport: &dialCounter{n: &dials}, Mirrors: map[string]string{DockerHub: closed}}
	for _, s := range []string{"alpine", "ubuntu", "node"} {
		if _, err := l.Tags(MustParse(s)); err == nil {
			t.Fatalf("%s listed from a closed port", s)
		}
	}
	if n := dials.Load(); n > 2 { // ggcr may try https then http once
		t.Errorf("%d requests to an unreachable host for 3 repositories", n)
	}
	// HTTP errors (a 404 for one repository) do not mark the host down.
	host := hubMirror(t)
	l = &RegistryTags{Mirrors: map[string]string{DockerHub: host}}
	if _, err := l.Tags(MustParse("nosuchimage")); err == nil {
		t.Fatal("listed a repository the registry does not have")
	}
	if tags, err := l.Tags(MustParse("alpine")); err != nil || len(tags) != 4 {
		t.Errorf("after a 404: %v, %v", tags, err)
	}
}

type dialCounter struct{ n *atomic.Int32 }

func (d *dialCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	d.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// A hostile registry cannot make a listing endless or huge.
func TestRegistryTagsBounded(t *testing.T) {
	var pages atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		// Every page points at another.
		n := pages.Add(1)
		w.Header().Set("Link", fmt.Sprintf(`</v2/library/alpine/tags/list?last=t%d>; rel="next"`, n))
		fmt.Fprintf(w, `{"name":"library/alpine","tags":["t%d"]}`, n)
	})
	mux.HandleFunc("/v2/library/big/tags/list", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"name":"library/big","tags":["`+strings.Repeat("x", 1<<16)+`"]}`)
	})
	mux.HandleFunc("/v2/library/many/tags/list", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"name":"library/many","tags":["a","b","c","d"]}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	l := &RegistryTags{Mirrors: map[string]string{DockerHub: host}, MaxBytes: 1 << 12}
	if _, err := l.Tags(MustParse("alpine")); err == nil || !strings.Contains(err.Error(), "pages") {
		t.Errorf("endless pages: %v", err)
	}
	if n := pages.Load(); n > maxTagPages+1 {
		t.Errorf("followed %d pages", n)
	}
	if _, err := l.Tags(MustParse("big")); err == nil {
		t.Error("a response past MaxBytes was accepted")
	}
	l.MaxTags = 3
	if _, err := l.Tags(MustParse("many")); err == nil || !strings.Contains(err.Error(), "more than 3 tags") {
		t.Errorf("MaxTags: %v", err)
	}
	// And the check still answers, from the catalogue.
	if f := tagFinding(t, "alpine:3.154", l); f == nil || f.Suggestion != "alpine:3.15" {
		t.Errorf("fallback: %+v", f)
	}
}
