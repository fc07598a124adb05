package settings

import (
	"errors"
	"fmt"
	"strings"

	"kth-sample-server/internal/problem"
)

// ErrHelp is returned by Parse when --help was asked for (the caller prints Usage and exits 0).
var ErrHelp = errors.New("help requested")

// Parse applies every setting in table from args (flags) and env: a flag given on the command line
// wins over its env var; unset settings take their defaults. All bad values are reported in one
// error, as `kth serve` does; usage mistakes (unknown flag, missing value) are reported alone.
func Parse(command string, table []Setting, args []string, env func(string) (string, bool)) error {
	flags, err := parseFlags(command, table, args)
	if err != nil {
		return err
	}
	var messages, where []string
	for _, s := range table {
		raw, set := flags[s.Flag]
		if !set {
			raw, set = env(s.Env)
		}
		if msg := s.apply(raw, set); msg != "" {
			messages = append(messages, msg)
			where = append(where, s.Flag)
		}
	}
	if len(messages) > 0 {
		return problem.BadInput(strings.Join(messages, "\n"), strings.Join(where, ", "), "", nil)
	}
	return nil
}

// parseFlags reads "--flag value", "--flag=value" and boolean "--no-x" flags; a value may start
// with "-" ("--keepalive-timeout -1"), as commander allows for required option values.
func parseFlags(command string, table []Setting, args []string) (map[string]string, error) {
	byFlag := make(map[string]Setting, len(table))
	for _, s := range table {
		byFlag[s.Flag] = s
	}
	values := make(map[string]string)
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--help" || arg == "-h" {
			return nil, ErrHelp
		}
		name, value, hasValue := strings.Cut(arg, "=")
		s, known := byFlag[name]
		switch {
		case !strings.HasPrefix(arg, "-"):
			return nil, usageError(command, fmt.Sprintf("too many arguments for '%s'. Expected 0 arguments but got %d.", command, len(args)-i))
		case !known:
			return nil, usageError(command, fmt.Sprintf("unknown option '%s'", name))
		case s.Value == "":
			if hasValue {
				return nil, usageError(command, fmt.Sprintf("option '%s' does not take an argument", name))
			}
			// "--no-h2c" turns the setting off.
			values[name] = "false"
		case hasValue:
			values[name] = value
		case i+1 < len(args):
			i++
			values[name] = args[i]
		default:
			return nil, usageError(command, fmt.Sprintf("option '%s %s' argument missing", name, s.Value))
		}
	}
	return values, nil
}

func usageError(command, message string) error {
	return problem.BadInput(message, "kth-sample-server "+command, "see kth-sample-server "+command+" --help", nil)
}

// Usage is the --help text: one line per setting with its env var and default.
func Usage(command, description string, table []Setting) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: kth-sample-server %s [options]\n\n%s\n\nOptions:\n", command, description)
	width := 0
	for _, s := range table {
		width = max(width, len(strings.TrimSpace(s.Flag+" "+s.Value)))
	}
	for _, s := range table {
		text := s.Description
		if s.shownDefault != "" && s.Value != "" {
			text += " (default " + s.shownDefault + ")"
		}
		fmt.Fprintf(&b, "  %-*s  %s [env %s]\n", width, strings.TrimSpace(s.Flag+" "+s.Value), text, s.Env)
	}
	fmt.Fprintf(&b, "  %-*s  %s\n", width, "-h, --help", "display help for command")
	return b.String()
}
