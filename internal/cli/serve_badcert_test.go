package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// serve's webhook certificate and key are read before the store is
// opened, like its policy and admission config: a missing or unreadable
// pair, or a self-signed directory that is a file, exits 2 and writes
// nothing.
func TestServeBadWebhookCertWritesNothing(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	regs := write("registries.yaml", "registries: []\n")
	const baseline = "../../examples/policy/baseline.yaml"
	notPEM := write("cert.pem", "not a certificate\n")
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"missing cert and key", []string{"--admission-cert", filepath.Join(dir, "none.crt"), "--admission-key", filepath.Join(dir, "none.key")}, "none.crt"},
		{"cert and key not PEM", []string{"--admission-cert", notPEM, "--admission-key", notPEM}, "cert.pem"},
		{"self-signed dir is a file", []string{"--admission-self-signed", notPEM}, "cert.pem"},
		{"bad webhook address", []string{"--admission-self-signed", filepath.Join(dir, "certs"), "--admission-listen", "127.0.0.1:99999"}, "127.0.0.1:99999"},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "new", "s.db")
			args := append([]string{"serve", "--config", regs, "--db", db, "--listen", "127.0.0.1:0", "--no-kev", "--no-epss",
				"--policy", baseline, "--admission-listen", "127.0.0.1:0"}, c.args...)
			code, _, errOut := run(t, args...)
			if code != ExitError || !strings.Contains(errOut, c.want) {
				t.Errorf("exit %d, stderr %q: want %d naming %q", code, errOut, ExitError, c.want)
			}
			if _, err := os.Stat(filepath.Dir(db)); !os.IsNotExist(err) {
				t.Errorf("the store was created before the input was checked (%v)", err)
			}
		})
	}
}

// A --listen address that cannot be listened on exits 2 with no store.
func TestServeBadListenWritesNothing(t *testing.T) {
	dir := t.TempDir()
	regs := filepath.Join(dir, "registries.yaml")
	if err := os.WriteFile(regs, []byte("registries: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "new", "s.db")
	code, _, errOut := run(t, "serve", "--config", regs, "--db", db, "--listen", "127.0.0.1:99999", "--no-kev", "--no-epss")
	if code != ExitError || !strings.Contains(errOut, "127.0.0.1:99999") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Dir(db)); !os.IsNotExist(err) {
		t.Errorf("the store was created before the address was checked (%v)", err)
	}
}
