package admission

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/safeguard-dev/safeguard/gate"
)

// startTLS runs the real webhook server on loopback with a self-signed
// pair written to dir; it returns the base URL.
func startTLS(t *testing.T, w *Webhook, dir string) (string, *CertFiles) {
	t.Helper()
	_, certFile, keyFile, err := LoadOrCreateSelfSigned(dir, "safeguard-webhook", "safeguard", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certs, err := LoadCertFiles(certFile, keyFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(w.Handler(), certs.TLSConfig())
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return "https://" + ln.Addr().String(), certs
}

// clientFor trusts only the CA in dir/ca.crt, and opens a new connection
// per request so every request handshakes.
func clientFor(t *testing.T, dir string, keepAlive bool) *http.Client {
	t.Helper()
	ca, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		t.Fatal("bad CA")
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "safeguard-webhook.safeguard.svc"},
		DisableKeepAlives: !keepAlive}}
}

func post(t *testing.T, c *http.Client, url, contentType string, body []byte) (int, []byte) {
	t.Helper()
	resp, err := c.Post(url, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// End to end over HTTPS against the real server: allow, deny, warn,
// digest patch, registry down (fail-closed and fail-open), and the
// request-shape checks, all on one keep-alive connection.
func TestHTTPSEndToEnd(t *testing.T) {
	g := &tableGate{table: map[string]answer{
		"registry.example.com/app:1":       allowed("sha256:" + hexA),
		"registry.example.com/bad:1":       denied("sha256:"+hexB, enforce("signed", unsigned)),
		"registry.example.com/old:1":       allowed("sha256:"+hexC, gate.Violation{Rule: "age", Mode: gate.ModeWarn, Message: "older than 90 days"}),
		"registry.example.com/down:1":      {verdict: gate.Deny, incomplete: gate.IncompleteUnreachable},
		"registry.example.com/down-open:1": {verdict: gate.Allow, incomplete: gate.IncompleteUnreachable},
	}}
	dir := t.TempDir()
	base, _ := startTLS(t, newWebhook(t, g, Config{}), dir)
	c := clientFor(t, dir, true)
	send := func(path string, images ...string) *admissionv1.AdmissionResponse {
		t.Helper()
		code, b := post(t, c, base+path, "application/json", podReview(t, "CREATE", "ns", images, nil))
		if code != http.StatusOK {
			t.Fatalf("%s: HTTP %d %s", path, code, b)
		}
		var out admissionv1.AdmissionReview
		if err := json.Unmarshal(b, &out); err != nil || out.Response == nil || out.Response.UID != "u-1" {
			t.Fatalf("bad answer %s (%v)", b, err)
		}
		return out.Response
	}
	if r := send(PathValidate, "registry.example.com/app:1"); !r.Allowed {
		t.Error("allow: denied")
	}
	if r := send(PathValidate, "registry.example.com/bad:1"); r.Allowed || !strings.Contains(r.Result.Message, "rule signed") {
		t.Errorf("deny: %+v", r.Result)
	}
	if r := send(PathValidate, "registry.example.com/old:1"); !r.Allowed || len(r.Warnings) != 1 {
		t.Errorf("warn: %v %q", r.Allowed, r.Warnings)
	}
	r := send(PathMutate, "registry.example.com/app:1")
	var ops []patchOp
	if err := json.Unmarshal(r.Patch, &ops); err != nil || len(ops) != 1 || ops[0].Value != "registry.example.com/app:1@sha256:"+hexA || *r.PatchType != admissionv1.PatchTypeJSONPatch {
		t.Errorf("patch: %s %v", r.Patch, err)
	}
	if r := send(PathValidate, "registry.example.com/down:1"); r.Allowed || !strings.Contains(r.Result.Message, "registry_unreachable (fail-closed)") {
		t.Errorf("registry down, fail-closed: %+v", r.Result)
	}
	if r := send(PathValidate, "registry.example.com/down-open:1"); !r.Allowed || len(r.Warnings) != 1 {
		t.Errorf("registry down, fail-open: %v %q", r.Allowed, r.Warnings)
	}
	for _, bad := range []struct {
		ct   string
		body []byte
		code int
	}{
		{"application/json", []byte("null"), http.StatusBadRequest},
		{"application/json", []byte(`{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"operation":"CREATE"}}`), http.StatusBadRequest},
		{"application/json", []byte(`{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v2","request":{"uid":"x"}}`), http.StatusBadRequest},
		{"text/plain", podReview(t, "CREATE", "ns", []string{"x"}, nil), http.StatusUnsupportedMediaType},
		{"application/json", bytes.Repeat([]byte(" "), int(DefaultMaxBodyBytes)+1), http.StatusRequestEntityTooLarge},
	} {
		if code, b := post(t, c, base+PathValidate, bad.ct, bad.body); code != bad.code {
			t.Errorf("%s %.40q: HTTP %d %s, want %d", bad.ct, bad.body, code, b, bad.code)
		}
	}
}

// Rotating the certificate files under the running server: new handshakes
// get the new certificate, with no restart.
func TestCertificateHotReload(t *testing.T) {
	dir := t.TempDir()
	base, _ := startTLS(t, newWebhook(t, &tableGate{}, Config{}), dir)
	oldClient := clientFor(t, dir, false)
	if code, _ := post(t, oldClient, base+PathValidate, "application/json", []byte("null")); code != http.StatusBadRequest {
		t.Fatalf("before rotation: HTTP %d", code)
	}
	// A new CA and pair, written the way a Secret update lands: the files
	// change under the same names.
	s, err := NewSelfSigned("safeguard-webhook", "safeguard", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Write(dir); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute) // a distinct modification time even on coarse file systems
	for _, n := range []string{"tls.crt", "tls.key"} {
		os.Chtimes(filepath.Join(dir, n), later, later)
	}
	newClient := clientFor(t, dir, false)
	if code, _ := post(t, newClient, base+PathValidate, "application/json", []byte("null")); code != http.StatusBadRequest {
		t.Fatalf("after rotation: HTTP %d", code)
	}
	_, err = oldClient.Post(base+PathValidate, "application/json", strings.NewReader("null"))
	var unknownCA x509.UnknownAuthorityError
	if !errors.As(err, &unknownCA) {
		t.Errorf("the old CA still verifies the served certificate: %v", err)
	}
}

// A half-written rotation (new certificate, old key) keeps the old pair.
func TestCertificateMismatchKeepsPrevious(t *testing.T) {
	dir := t.TempDir()
	_, certFile, keyFile, err := LoadOrCreateSelfSigned(dir, "s", "n", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certs, err := LoadCertFiles(certFile, keyFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := certs.GetCertificate(nil)
	other, _ := NewSelfSigned("s", "n", time.Now(), time.Hour)
	os.WriteFile(certFile, other.Cert, 0o644)
	later := time.Now().Add(time.Minute)
	os.Chtimes(certFile, later, later)
	after, err := certs.GetCertificate(nil)
	if err != nil || after != before {
		t.Errorf("mismatched pair replaced the served certificate (%v)", err)
	}
	os.WriteFile(keyFile, other.Key, 0o600)
	os.Chtimes(keyFile, later, later)
	if now, _ := certs.GetCertificate(nil); now == before {
		t.Error("completed rotation not picked up")
	}
}

func TestSelfSignedNames(t *testing.T) {
	s, err := NewSelfSigned("safeguard-webhook", "safeguard", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(s.Cert, s.Key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(pair.Certificate[0])
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CA)
	for _, name := range append(ServiceNames("safeguard-webhook", "safeguard"), "localhost") {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: pool}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "other.safeguard.svc", Roots: pool}); err == nil {
		t.Error("verifies for a name it was not issued for")
	}
}

// Over HTTPS, an evaluation that overruns the budget (an unknown image
// whose registry hangs) is answered within the request, by failure mode.
func TestHTTPSBudgetOverrun(t *testing.T) {
	for _, mode := range []string{FailClosed, FailOpen} {
		g := &tableGate{hang: make(chan struct{}), table: map[string]answer{"registry.example.com/new:1": {hang: true}}}
		dir := t.TempDir()
		base, _ := startTLS(t, newWebhook(t, g, Config{Budget: 50 * time.Millisecond, FailureMode: mode}), dir)
		code, b := post(t, clientFor(t, dir, true), base+PathValidate, "application/json", podReview(t, "CREATE", "ns", []string{"registry.example.com/new:1"}, nil))
		close(g.hang)
		var out admissionv1.AdmissionReview
		if code != http.StatusOK || json.Unmarshal(b, &out) != nil || out.Response == nil {
			t.Fatalf("%s: HTTP %d %s", mode, code, b)
		}
		r := out.Response
		if mode == FailClosed && (r.Allowed || !strings.Contains(r.Result.Message, "budget_exceeded (fail-closed)")) {
			t.Errorf("fail-closed: %+v", r)
		}
		if mode == FailOpen && (!r.Allowed || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "budget_exceeded (fail-open)")) {
			t.Errorf("fail-open: %+v", r)
		}
	}
}

// A client that declares a large Content-Length and sends little (a
// slow-loris, from any pod that can reach the Service) must not make the
// webhook allocate what it declared: a few hundred such connections would
// otherwise exhaust the pod's memory limit before the read timeout.
func TestReadBodyDoesNotTrustContentLength(t *testing.T) {
	const declared = 3 << 20
	r, _ := http.NewRequest("POST", "/admission/validate", strings.NewReader(`{"kind":`))
	r.ContentLength = declared
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := readBody(httptest.NewRecorder(), r, DefaultMaxBodyBytes)
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Error("a body shorter than its Content-Length was read")
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > declared/8 {
		t.Errorf("a 8-byte body declared as %d bytes allocated %d bytes", declared, got)
	}
	// A body that is as long as it says still reads whole.
	body := bytes.Repeat([]byte("x"), 200<<10)
	r, _ = http.NewRequest("POST", "/admission/validate", bytes.NewReader(body))
	if got, err := readBody(httptest.NewRecorder(), r, DefaultMaxBodyBytes); err != nil || !bytes.Equal(got, body) {
		t.Errorf("whole body: %d bytes, %v", len(got), err)
	}
}
