// Command kth-sample-server is the Go implementation of the kube-traffic-harness sample servers:
// the same wire contract as `kth serve http|grpc` (Node.js), built on net/http and grpc-go so the
// harness can measure how those behave.
//
//	kth-sample-server http [flags]     HTTP/1.1 and h2c on one port (kth serve http)
//	kth-sample-server grpc [flags]     kth.v1.Echo, health, reflection; metrics on a side port (kth serve grpc)
//	kth-sample-server sleep <seconds>  for preStop exec hooks in images without /bin/sleep
//	kth-sample-server version
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"

	"kth-sample-server/internal/problem"
	"kth-sample-server/internal/settings"
)

const usage = `Usage: kth-sample-server <command> [options]

Commands:
  http [options]     HTTP/1.1 and h2c (prior knowledge) on one port, with /healthz /readyz /metrics
  grpc [options]     kth.v1.Echo, grpc.health.v1 and reflection; metrics on an HTTP side port
  sleep <seconds>    wait, then exit 0 (for preStop exec hooks)
  version            print the Go and grpc-go versions this binary was built with

Run kth-sample-server <command> --help for a command's options (each also an env var).
`

func main() {
	// The live heap is a few MiB; collecting at 1.5× rather than 2× of it keeps RSS under 20 MiB at
	// harness loads for little CPU. GOGC in the environment still wins.
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(50)
	}
	// Installed as /bin/sleep too (the Go images are FROM scratch): answer as sleep under that name.
	if filepath.Base(os.Args[0]) == "sleep" {
		os.Exit(run(append([]string{"sleep"}, os.Args[1:]...)))
	}
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return problem.ExitBadInput
	}
	command, rest := args[0], args[1:]
	var err error
	var code exitCode
	switch command {
	case "http":
		err = serveHTTP(rest)
	case "grpc":
		err = serveGRPC(rest)
	case "sleep":
		err = sleep(rest)
	case "version", "--version", "-V":
		fmt.Println(version())
	case "help", "--help", "-h":
		fmt.Print(usage)
	default:
		err = problem.BadInput(fmt.Sprintf("serve mode: '%s' is not a mode", command), "kth-sample-server <command>",
			"use one of: kth-sample-server http, kth-sample-server grpc (see kth-sample-server http --help)", nil)
	}
	switch {
	case err == nil:
		return problem.ExitOK
	case errors.Is(err, settings.ErrHelp):
		return problem.ExitOK
	case errors.As(err, &code):
		return int(code)
	default:
		fmt.Fprintln(os.Stderr, problem.Format(err))
		return problem.ExitCode(err)
	}
}

// exitCode ends a command that has said everything already (a server stopped by a signal).
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit %d", int(c)) }
