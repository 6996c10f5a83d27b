// Command tollgate runs and administers a Tollgate server: a self-hosted
// intelligence API platform with Perplexity-compatible API keys, groups,
// metering and search-grounded answers.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tollgate:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError marks mistakes in how a command was invoked (exit status 2).
type usageError struct{ error }

// env carries the process's surroundings to every command, so tests can
// run commands in-process with their own environment and streams.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// jsonOut is the --json flag shared by every command.
	jsonOut bool
}

// run is the whole program; main only adds signals and exit codes.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "tollgate",
		Short: "Tollgate: a self-hosted intelligence API platform",
		Long: "Tollgate serves a Perplexity-compatible API with governed, metered API keys.\n\n" +
			"Start a server with `tollgate serve`; manage it with `tollgate groups`, `keys`, `billing`,\n" +
			"`limits`, `usage` and `prices` (they talk to a running server: set TOLLGATE_URL and\n" +
			"TOLLGATE_ADMIN_TOKEN).",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().BoolVar(&e.jsonOut, "json", false, "print machine-readable JSON instead of tables")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		serveCmd(e),
		migrateCmd(e),
		adminCmd(e),
		groupsCmd(e),
		keysCmd(e),
		usageCmd(e), billingCmd(e), limitsCmd(e), pricesCmd(e),
		versionCmd(e),
		benchCmd(e),
		indexCmd(e),
		evalCmd(e),
	)
	err := root.ExecuteContext(ctx)
	if err != nil && isCobraUsage(err) {
		return usageError{err}
	}
	return err
}

// isCobraUsage recognises the invocation mistakes cobra reports as plain
// errors (unknown command, missing required flag, wrong argument count).
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command ", "required flag(s) ", "accepts ", "requires at least ", "requires at most "} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}
