package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bad input to admission serve and review exits 2 naming what is wrong,
// and writes nothing: not the store (a new --db file, or the default
// one), not the self-signed pair.
func TestAdmissionBadInputWritesNothing(t *testing.T) {
	dir := t.TempDir()
	const baseline = "../../examples/policy/baseline.yaml"
	badKubeconfig := writeFile(t, dir, "kc.yaml", "kubernetes: {kubeconfig: /nonexistent/kubeconfig}\n")
	review := "testdata/admission/01_deployment.json"
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"serve, missing policy", []string{"admission", "serve", "--self-signed", "CERTS", "--policy", filepath.Join(dir, "none.yaml")}, "none.yaml"},
		{"serve, missing registries file", []string{"admission", "serve", "--self-signed", "CERTS", "--policy", baseline, "--registries", filepath.Join(dir, "regs.yaml")}, "regs.yaml"},
		{"serve, missing kubeconfig", []string{"admission", "serve", "--self-signed", "CERTS", "--policy", baseline, "--config", badKubeconfig}, "/nonexistent/kubeconfig"},
		{"serve, missing certificate", []string{"admission", "serve", "--cert", filepath.Join(dir, "tls.crt"), "--key", filepath.Join(dir, "tls.key"), "--policy", baseline}, "tls.crt"},
		{"review, missing policy", []string{"admission", "review", "--policy", filepath.Join(dir, "none.yaml"), review}, "none.yaml"},
		{"review, missing registries file", []string{"admission", "review", "--policy", baseline, "--registries", filepath.Join(dir, "regs.yaml"), review}, "regs.yaml"},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "new", "s.db")
			certs := filepath.Join(t.TempDir(), "certs")
			args := append([]string(nil), c.args...)
			for i, a := range args {
				if a == "CERTS" {
					args[i] = certs
				}
			}
			args = append(args, "--db", db, "--listen", "127.0.0.1:0")
			if args[1] == "review" {
				args = args[:len(args)-2] // review has no --listen
			}
			code, out, errOut := run(t, args...)
			if code != ExitError || !strings.Contains(errOut, c.want) {
				t.Errorf("exit %d, stderr %q: want %d naming %q", code, errOut, ExitError, c.want)
			}
			if out != "" {
				t.Errorf("printed %q", out)
			}
			if _, err := os.Stat(filepath.Dir(db)); !os.IsNotExist(err) {
				t.Errorf("the store was created before the input was checked (%v)", err)
			}
			if _, err := os.Stat(certs); !os.IsNotExist(err) {
				t.Errorf("the self-signed pair was created before the input was checked (%v)", err)
			}
		})
	}
}

// The same for serve: its policy, trust policy, admission config, webhook
// certificate, listen addresses and retention are checked before the store
// is opened.
func TestServeBadInputWritesNothing(t *testing.T) {
	dir := t.TempDir()
	regs := writeFile(t, dir, "registries.yaml", "registries: []\n")
	const baseline = "../../examples/policy/baseline.yaml"
	badKubeconfig := writeFile(t, dir, "kc.yaml", "kubernetes: {kubeconfig: /nonexistent/kubeconfig}\n")
	notPEM := writeFile(t, dir, "cert.pem", "not a certificate\n")
	webhook := []string{"--policy", baseline, "--admission-listen", "127.0.0.1:0"}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"missing policy", []string{"--policy", filepath.Join(dir, "none.yaml")}, "none.yaml"},
		{"bad policy", []string{"--policy", writeFile(t, dir, "bad.yaml", "version: 1\nname: bad\nrules: [{type: nonsense}]\n")}, "nonsense"},
		{"missing trust policy", []string{"--trust-policy", filepath.Join(dir, "trust.yaml")}, "trust.yaml"},
		{"admission config with a missing kubeconfig", append(webhook, "--admission-self-signed", filepath.Join(dir, "certs"), "--admission-config", badKubeconfig), "/nonexistent/kubeconfig"},
		{"missing cert and key", append(webhook, "--admission-cert", filepath.Join(dir, "none.crt"), "--admission-key", filepath.Join(dir, "none.key")), "none.crt"},
		{"cert and key not PEM", append(webhook, "--admission-cert", notPEM, "--admission-key", notPEM), "cert.pem"},
		{"self-signed dir is a file", append(webhook, "--admission-self-signed", notPEM), "cert.pem"},
		{"bad webhook address", append(webhook, "--admission-self-signed", filepath.Join(dir, "certs"), "--admission-listen", "127.0.0.1:99999"), "127.0.0.1:99999"},
		{"bad API address", []string{"--listen", "127.0.0.1:99999"}, "127.0.0.1:99999"},
		{"negative retention", []string{"--decision-retention", "-1h"}, "--decision-retention -1h0m0s is negative"},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "new", "s.db")
			args := append([]string{"serve", "--config", regs, "--db", db, "--listen", "127.0.0.1:0", "--no-kev", "--no-epss"}, c.args...)
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
