// Package problem is the one error type the server reports on purpose: a message, where the
// problem is, and what to do about it, printed the way the kth CLI prints its errors.
package problem

import (
	"errors"
	"strings"
)

// Exit codes shared with the kth CLI (harness/core/exit-codes.ts).
const (
	ExitOK          = 0
	ExitBadInput    = 2
	ExitEnvironment = 3
	ExitInterrupted = 130
)

// Error is a problem the user can act on.
type Error struct {
	// BadInput problems (flags, env vars, ports in use) exit 2; the rest exit 3.
	BadInput bool
	Message  string
	Where    string
	Hint     string
	Cause    error
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Cause }

// BadInput is a problem with what the user asked for (exit 2).
func BadInput(message, where, hint string, cause error) *Error {
	return &Error{BadInput: true, Message: message, Where: where, Hint: hint, Cause: cause}
}

// Environment is a problem with the host (exit 3).
func Environment(message, where string, cause error) *Error {
	return &Error{Message: message, Where: where, Cause: cause}
}

// ExitCode is the process exit code for err.
func ExitCode(err error) int {
	var e *Error
	if errors.As(err, &e) && e.BadInput {
		return ExitBadInput
	}
	return ExitEnvironment
}

// Format renders err as kth does (harness/core/errors.ts formatError).
func Format(err error) string {
	var b strings.Builder
	b.WriteString("error: " + err.Error())
	var e *Error
	if errors.As(err, &e) {
		if e.Where != "" {
			b.WriteString("\n  where: " + e.Where)
		}
		if e.Hint != "" {
			b.WriteString("\n  fix:   " + strings.ReplaceAll(e.Hint, "\n", "\n         "))
		}
		if e.Cause != nil {
			b.WriteString("\n  cause: " + strings.ReplaceAll(e.Cause.Error(), "\n", "\n         "))
		}
	}
	return b.String()
}
