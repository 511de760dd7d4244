// Package cli is the safeguard command line: flags and environment are read
// here, turned into typed options, and passed to the libraries. Errors are
// mapped to exit codes in one place (exitCode).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/safeguard-dev/safeguard/store/sqlite"
)

// Exit codes.
const (
	ExitOK    = 0
	ExitFail  = 1 // a check failed: findings at or above --fail-on
	ExitError = 2 // bad input, bad usage, or an internal error
)

// errCheckFailed marks a run that worked but found what --fail-on forbids.
var errCheckFailed = errors.New("check failed")

// usageError marks bad flags or arguments.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// env is what commands share: output streams, the clock and the environment.
type env struct {
	stdout, stderr io.Writer
	now            func() time.Time
	getenv         func(string) string
}

// Run executes the command line args and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr, now: time.Now, getenv: os.Getenv}
	return e.run(ctx, args)
}

func (e *env) run(ctx context.Context, args []string) int {
	root := e.rootCommand()
	root.SetArgs(args)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	err := root.ExecuteContext(ctx)
	code := exitCode(err)
	if err != nil && code == ExitError {
		fmt.Fprintf(e.stderr, "safeguard: %s\n", printable(err.Error()))
	}
	return code
}

func exitCode(err error) int {
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, errCheckFailed):
		return ExitFail
	default:
		return ExitError
	}
}

func (e *env) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "safeguard",
		Short:         "Container-image supply-chain guard: SBOMs, vulnerability feeds, matching",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	// One command a line, so commands added side by side merge cleanly.
	root.AddCommand(e.scanCommand())
	root.AddCommand(e.feedCommand())
	root.AddCommand(e.sbomCommand())
	root.AddCommand(e.findingsCommand())
	root.AddCommand(e.imagesCommand())
	root.AddCommand(e.eventsCommand())
	root.AddCommand(e.registryCommand())
	root.AddCommand(e.serveCommand())
	root.AddCommand(e.demoCommand())
	root.AddCommand(e.verifyCommand())
	root.AddCommand(e.vexCommand())
	root.AddCommand(e.lintCommand())
	root.AddCommand(e.imageCommand())
	root.AddCommand(e.admissionCommand())
	root.AddCommand(e.deploymentsCommand())
	root.AddCommand(e.gateCommand())
	root.AddCommand(e.policyCommand())
	return root
}

// defaultDB is where commands keep their store when --db is not given:
// $SAFEGUARD_DB, else $XDG_DATA_HOME/safeguard/safeguard.db.
func (e *env) defaultDB() string {
	if p := e.getenv("SAFEGUARD_DB"); p != "" {
		return p
	}
	dir := e.getenv("XDG_DATA_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "safeguard.db"
		}
		dir = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(dir, "safeguard", "safeguard.db")
}

func openStore(ctx context.Context, path string) (*sqlite.Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("store directory: %w", err)
	}
	return sqlite.Open(ctx, path)
}
