// Command accord is Accord in one binary: the web server with its embedded
// worker, separate workers, migrations, seeds and provisioning commands.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "accord:", err)
		os.Exit(1)
	}
}

const usage = `Usage: accord <command> [flags]

Commands:
  serve [--no-worker] [--demo]     HTTP server with the embedded worker (--demo seeds the demo tenant on an empty database)
  worker                           background worker only
  migrate up | down N | version    database migrations
  seed demo                        the demo tenant "acme": users, teams, 90 days of lead history
  seed synthetic --tenant S --leads N [--days D] [--seed X] [--chunk C]
                                   N generated leads with their history (load and benchmark data)
  tenant create --slug S --name N --time-zone Z --currency C --admin-email E --admin-password P
  token create --tenant S --scope ingest|read|admin --name N
                                   prints the new API token alone on the last line

Configuration comes from the environment; see README.md.
`

// run dispatches a subcommand. Everything it needs comes in as arguments so
// tests can run it in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	switch args[0] {
	case "serve":
		return runServe(ctx, cfg, logger, args[1:], stdout)
	case "worker":
		return runWorker(ctx, cfg, logger, args[1:])
	case "migrate":
		return runMigrate(ctx, cfg, logger, args[1:], stdout)
	case "seed":
		return runSeed(ctx, cfg, logger, args[1:], stdout)
	case "tenant":
		return runTenant(ctx, cfg, logger, args[1:], stdout)
	case "token":
		return runToken(ctx, cfg, logger, args[1:], stdout)
	}
	return fmt.Errorf("unknown command %q\n\n%s", args[0], usage)
}
