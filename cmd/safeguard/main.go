// Command safeguard is the container-image supply-chain guard.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/safeguard-dev/safeguard/internal/cli"
)

func main() {
	// SAFEGUARD_CPUPROFILE=FILE writes a CPU profile of the whole run: how
	// the load benchmarks see where a long-running server spends its time.
	if p := os.Getenv("SAFEGUARD_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, "safeguard: SAFEGUARD_CPUPROFILE:", err)
			os.Exit(2)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "safeguard: SAFEGUARD_CPUPROFILE:", err)
			os.Exit(2)
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if code != 0 {
		pprof.StopCPUProfile()
		os.Exit(code)
	}
}
