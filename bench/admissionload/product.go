package main

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/safeguard-dev/safeguard/data"
)

// cleanSBOM is a CycloneDX SBOM of one package no advisory names.
const cleanSBOM = `{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[{"type":"library","name":"clean","group":"org.example","version":"1.0.0","purl":"pkg:maven/org.example/clean@1.0.0"}]}`

// product is the real server under load: `safeguard admission serve`, a
// separate process, deciding with the policy gate over its SQLite store,
// the project's baseline policy, the bundled GHSA advisories and KEV
// catalog, and images in a loopback registry run by this process.
type product struct {
	cmd  *exec.Cmd
	addr string
	refs []string // tag@digest references of the Pod's images
	reg  *httptest.Server
}

// startProduct pushes n images (each with an attached SBOM) to a loopback
// registry, imports the feeds into a store with `BIN feed import`, and
// starts `BIN admission serve` on 127.0.0.1 with a self-signed pair in dir.
func startProduct(bin, dir string, n int, profile string) (*product, error) {
	reg := httptest.NewServer(ggcr.New(ggcr.WithReferrersSupport(true), ggcr.Logger(log.New(io.Discard, "", 0))))
	p := &product{reg: reg}
	host := strings.TrimPrefix(reg.URL, "http://")
	for i := range n {
		ref, err := pushImage(host, i)
		if err != nil {
			reg.Close()
			return nil, err
		}
		p.refs = append(p.refs, ref)
	}
	var feeds []string
	for _, f := range []string{"feeds/ghsa-osv-356-records-maven-heavy.json", "feeds/known_exploited_vulnerabilities.json"} {
		b, err := fs.ReadFile(data.FS, f)
		if err != nil {
			reg.Close()
			return nil, err
		}
		out := filepath.Join(dir, filepath.Base(f))
		if err := os.WriteFile(out, b, 0o644); err != nil {
			reg.Close()
			return nil, err
		}
		feeds = append(feeds, out)
	}
	// The baseline policy and its trust policy, as the project ships them.
	for _, f := range []string{"baseline.yaml", "trust.yaml", "ci.pub"} {
		b, err := os.ReadFile(filepath.Join("examples", "policy", f))
		if err != nil {
			reg.Close()
			return nil, fmt.Errorf("run from the repository root: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			reg.Close()
			return nil, err
		}
	}
	db := filepath.Join(dir, "store.db")
	imp := exec.Command(bin, append([]string{"feed", "import", "--db", db}, feeds...)...)
	if out, err := imp.CombinedOutput(); err != nil {
		reg.Close()
		return nil, fmt.Errorf("feed import: %v: %s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		reg.Close()
		return nil, err
	}
	p.addr = ln.Addr().String()
	ln.Close()
	p.cmd = exec.Command(bin, "admission", "serve", "--db", db, "--policy", filepath.Join(dir, "baseline.yaml"),
		"--self-signed", filepath.Join(dir, "certs"), "--listen", p.addr, "--insecure")
	if profile != "" {
		p.cmd.Env = append(os.Environ(), "SAFEGUARD_CPUPROFILE="+profile)
	}
	stdout, _ := p.cmd.StdoutPipe()
	p.cmd.Stderr = io.Discard // JSON logs; audit lines per request
	if err := p.cmd.Start(); err != nil {
		reg.Close()
		return nil, err
	}
	if _, err := bufio.NewReader(stdout).ReadString('\n'); err != nil { // "caBundle: …" once the pair exists
		p.stop()
		return nil, fmt.Errorf("admission serve did not start: %v", err)
	}
	go io.Copy(io.Discard, stdout)
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", p.addr); err == nil {
			c.Close()
			break
		}
		if i == 200 {
			p.stop()
			return nil, fmt.Errorf("admission serve did not listen on %s", p.addr)
		}
		time.Sleep(25 * time.Millisecond)
	}
	return p, nil
}

func (p *product) stop() {
	if p.cmd != nil && p.cmd.Process != nil {
		p.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
			<-done
		}
	}
	p.reg.Close()
}

// pushImage writes one image with an SBOM attached as an OCI 1.1 referrer
// and returns its tag@digest reference.
func pushImage(host string, i int) (string, error) {
	layer, err := random.Layer(int64(512+i), types.OCILayer)
	if err != nil {
		return "", err
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		return "", err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Created = v1.Time{Time: time.Now().Add(-24 * time.Hour)}
	cf.Config.Labels = map[string]string{"team": "load"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return "", err
	}
	tag, err := name.ParseReference(fmt.Sprintf("%s/bench/service-%d:1.%d.0", host, i, i), name.Insecure)
	if err != nil {
		return "", err
	}
	if err := remote.Write(tag, img); err != nil {
		return "", err
	}
	d, _ := img.Digest()
	sz, _ := img.Size()
	mt, _ := img.MediaType()
	const cdx = "application/vnd.cyclonedx+json"
	art, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), static.NewLayer([]byte(cleanSBOM), cdx))
	if err != nil {
		return "", err
	}
	art = mutate.ConfigMediaType(art, cdx)
	art = mutate.Subject(art, v1.Descriptor{MediaType: mt, Digest: d, Size: sz}).(v1.Image)
	ad, _ := art.Digest()
	if err := remote.Write(tag.Context().Digest(ad.String()), art); err != nil {
		return "", err
	}
	return tag.String() + "@" + d.String(), nil
}
