// Command safeguard is the container-image supply-chain guard.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/safeguard-dev/safeguard/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
