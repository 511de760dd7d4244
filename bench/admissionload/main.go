// Command admissionload measures the admission webhook over loopback
// HTTPS: it starts the real webhook server as a separate process on
// 127.0.0.1 (a self-signed pair in a temporary directory), then sends
// AdmissionReviews for a Pod of N containers from C keep-alive clients
// for a bounded time, and reports the rate, latency percentiles, errors
// and the server's memory (RSS) and CPU.
//
// By default the server answers from a table of known digests (knownFacts
// below), so the figures are the webhook's own cost — TLS, HTTP, decoding,
// extraction, dedup, the answer. With -safeguard BIN the server is the
// product itself, `BIN admission serve`, deciding with the policy gate
// (the baseline example policy, the store's facts per digest) for images
// in a loopback registry this process runs; the Pod's images are pinned
// tag@digest references, so after the warm-up every request is a lookup
// plus policy evaluation (see product.go).
//
//	go run ./bench/admissionload -duration 60s -concurrency 32
//	go build -o /tmp/safeguard ./cmd/safeguard && go run ./bench/admissionload -safeguard /tmp/safeguard -duration 60s
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/safeguard-dev/safeguard/admission"
	"github.com/safeguard-dev/safeguard/gate"
)

func main() {
	serve := flag.Bool("serve", false, "internal: run the webhook server (started by the load generator)")
	dir := flag.String("dir", "", "internal: certificate directory for -serve")
	containers := flag.Int("containers", 10, "containers per Pod (distinct images)")
	duration := flag.Duration("duration", 10*time.Second, "how long to send load")
	concurrency := flag.Int("concurrency", 32, "concurrent keep-alive clients")
	mutate := flag.Bool("mutate", false, "send to the mutating webhook (answers carry a patch)")
	profile := flag.String("server-cpuprofile", "", "write the server's CPU profile to this file")
	bin := flag.String("safeguard", "", "load the real product: this safeguard binary's 'admission serve' with the policy gate")
	flag.Parse()
	if *serve {
		if *profile != "" {
			f, err := os.Create(*profile)
			if err != nil {
				fmt.Fprintln(os.Stderr, "admissionload server:", err)
				os.Exit(1)
			}
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
		if err := runServer(*dir, *containers); err != nil {
			fmt.Fprintln(os.Stderr, "admissionload server:", err)
			os.Exit(1)
		}
		return
	}
	if err := runLoad(*bin, *containers, *duration, *concurrency, *mutate, *profile); err != nil {
		fmt.Fprintln(os.Stderr, "admissionload:", err)
		os.Exit(1)
	}
}

func imageRef(i int) string { return fmt.Sprintf("registry.example.com/team/service-%d:1.%d.0", i, i) }

// knownFacts answers for the Pod's images as the gate does for digests
// whose facts are precomputed: a map lookup.
type knownFacts map[string]gate.Decision

func (k knownFacts) Evaluate(_ context.Context, ref string, _ gate.Input) gate.Decision {
	if d, ok := k[ref]; ok {
		return d
	}
	return gate.Decision{Reference: ref, Verdict: gate.Deny, Incomplete: gate.IncompleteNotFound}
}

func runServer(dir string, containers int) error {
	facts := knownFacts{}
	for i := range containers {
		facts[imageRef(i)] = gate.Decision{Reference: imageRef(i), Digest: fmt.Sprintf("sha256:%064x", i+1), Verdict: gate.Allow, PolicyHash: "bench"}
	}
	w, err := admission.New(admission.Options{Evaluator: facts})
	if err != nil {
		return err
	}
	_, certFile, keyFile, err := admission.LoadOrCreateSelfSigned(dir, "safeguard-webhook", "safeguard", time.Now())
	if err != nil {
		return err
	}
	certs, err := admission.LoadCertFiles(certFile, keyFile, nil)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := admission.NewServer(w.Handler(), certs.TLSConfig())
	fmt.Printf("ADDR %s\n", ln.Addr())
	go func() { // the parent closes stdin (or dies): stop
		io.Copy(io.Discard, os.Stdin)
		srv.Close()
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	go func() { <-sig; srv.Close() }()
	if err := srv.ServeTLS(ln, "", ""); err != http.ErrServerClosed {
		return err
	}
	return nil
}

func podBody(refs []string) []byte {
	var cs []map[string]any
	for i, ref := range refs {
		cs = append(cs, map[string]any{"name": fmt.Sprintf("c%d", i), "image": ref,
			"resources": map[string]any{"requests": map[string]any{"cpu": "100m", "memory": "128Mi"}}})
	}
	pod := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "load", "namespace": "shop"},
		"spec": map[string]any{"containers": cs}}
	b, _ := json.Marshal(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": map[string]any{
		"uid": "load-0000", "kind": map[string]any{"group": "", "version": "v1", "kind": "Pod"},
		"resource":  map[string]any{"group": "", "version": "v1", "resource": "pods"},
		"namespace": "shop", "name": "load", "operation": "CREATE", "object": pod}})
	return b
}

// procStat reads a process's resident set (current and peak, KiB) and its
// CPU time so far.
func procStat(pid int) (rss, hwm int64, cpu time.Duration) {
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) >= 2 && f[0] == "VmRSS:" {
				rss, _ = strconv.ParseInt(f[1], 10, 64)
			}
			if len(f) >= 2 && f[0] == "VmHWM:" {
				hwm, _ = strconv.ParseInt(f[1], 10, 64)
			}
		}
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i > 0 {
			f := strings.Fields(s[i+1:])
			if len(f) > 13 {
				u, _ := strconv.ParseInt(f[11], 10, 64)
				k, _ := strconv.ParseInt(f[12], 10, 64)
				cpu = time.Duration(u+k) * time.Second / 100 // USER_HZ
			}
		}
	}
	return rss, hwm, cpu
}

func runLoad(bin string, containers int, duration time.Duration, concurrency int, mutate bool, profile string) error {
	dir, err := os.MkdirTemp("", "admissionload-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var (
		addr, server string
		pid          int
		refs         []string
		ca           []byte
	)
	if bin != "" {
		p, err := startProduct(bin, dir, containers, profile)
		if err != nil {
			return err
		}
		defer p.stop()
		addr, pid, refs, server = p.addr, p.cmd.Process.Pid, p.refs, "safeguard admission serve (policy gate, baseline policy)"
		if ca, err = os.ReadFile(filepath.Join(dir, "certs", "ca.crt")); err != nil {
			return err
		}
	} else {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		child := exec.Command(self, "-serve", "-dir", dir, "-containers", strconv.Itoa(containers), "-server-cpuprofile", profile)
		stdin, _ := child.StdinPipe()
		stdout, _ := child.StdoutPipe()
		child.Stderr = os.Stderr
		if err := child.Start(); err != nil {
			return err
		}
		defer func() { stdin.Close(); child.Wait() }()
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "ADDR ") {
			return fmt.Errorf("server did not start: %q %v", line, err)
		}
		addr, pid, server = strings.TrimSpace(strings.TrimPrefix(line, "ADDR ")), child.Process.Pid, "table of known digests"
		for i := range containers {
			refs = append(refs, imageRef(i))
		}
		if ca, err = os.ReadFile(filepath.Join(dir, "ca.crt")); err != nil {
			return err
		}
	}
	if host, _, _ := net.SplitHostPort(addr); host != "127.0.0.1" {
		return fmt.Errorf("refusing a non-loopback target %s", addr)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, ServerName: "safeguard-webhook.safeguard.svc"},
		MaxIdleConns:        concurrency,
		MaxIdleConnsPerHost: concurrency,
		IdleConnTimeout:     time.Minute,
	}}
	path := admission.PathValidate
	if mutate {
		path = admission.PathMutate
	}
	url := "https://" + addr + path
	body := podBody(refs)

	// Warm-up: TLS handshakes for every connection, first allocations.
	warm := time.Now().Add(2 * time.Second)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(warm) {
				send(client, url, body)
			}
		}()
	}
	wg.Wait()

	_, _, cpu0 := procStat(pid)
	var errors atomic.Int64
	lat := make([][]time.Duration, concurrency)
	var maxRSS atomic.Int64
	stopSampling := make(chan struct{})
	go func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-t.C:
				if rss, _, _ := procStat(pid); rss > maxRSS.Load() {
					maxRSS.Store(rss)
				}
			}
		}
	}()
	start := time.Now()
	end := start.Add(duration)
	for i := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ls := make([]time.Duration, 0, 1<<16)
			for time.Now().Before(end) {
				t0 := time.Now()
				if err := send(client, url, body); err != nil {
					errors.Add(1)
				}
				ls = append(ls, time.Since(t0))
			}
			lat[i] = ls
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stopSampling)
	rss, hwm, cpu1 := procStat(pid)
	var all []time.Duration
	for _, ls := range lat {
		all = append(all, ls...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	if len(all) == 0 {
		return fmt.Errorf("no requests completed")
	}
	pct := func(p float64) time.Duration { return all[min(len(all)-1, int(float64(len(all))*p))] }
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	fmt.Printf("admissionload: %d-container Pod, %s, concurrency %d, %s, %d CPUs; server: %s\n", containers, path, concurrency, elapsed.Round(time.Millisecond), runtimeCPUs(), server)
	fmt.Printf("requests %d  rate %.0f/s  errors %d\n", len(all), float64(len(all))/elapsed.Seconds(), errors.Load())
	fmt.Printf("latency ms: p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f\n", ms(pct(0.50)), ms(pct(0.90)), ms(pct(0.99)), ms(pct(0.999)), ms(all[len(all)-1]))
	fmt.Printf("server: RSS %d MiB at end, %d MiB peak sampled, VmHWM %d MiB; CPU %.2f cores\n", rss/1024, maxRSS.Load()/1024, hwm/1024,
		(cpu1-cpu0).Seconds()/elapsed.Seconds())
	return nil
}

// send posts one review and checks the answer: HTTP 200, the uid, allowed.
func send(c *http.Client, url string, body []byte) error {
	resp, err := c.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	var out struct {
		Response struct {
			UID     string `json:"uid"`
			Allowed bool   `json:"allowed"`
		} `json:"response"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.Response.UID != "load-0000" || !out.Response.Allowed {
		return fmt.Errorf("bad answer %.200s", b)
	}
	return nil
}

func runtimeCPUs() int { return runtime.NumCPU() }
