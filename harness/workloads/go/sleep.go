package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"kth-sample-server/internal/problem"
)

var sleepArg = regexp.MustCompile(`^(\d+(?:\.\d+)?|\.\d+)(s|m|h|d)?$`)

// sleep is `sleep <seconds>` for preStop exec hooks: distroless images have no /bin/sleep.
// It takes what coreutils sleep takes for one argument: seconds, or a number with s, m, h or d.
func sleep(args []string) error {
	bad := func() error {
		return problem.BadInput(fmt.Sprintf("sleep: '%s' is not a duration", strings.Join(args, " ")), "kth-sample-server sleep <seconds>",
			"give one number of seconds, e.g. kth-sample-server sleep 5 (or 500ms as 0.5, 2m, 1h)", nil)
	}
	if len(args) != 1 {
		return bad()
	}
	match := sleepArg.FindStringSubmatch(args[0])
	if match == nil {
		return bad()
	}
	n, err := strconv.ParseFloat(match[1], 64)
	if err != nil {
		return bad()
	}
	unit := map[string]time.Duration{"": time.Second, "s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[match[2]]
	time.Sleep(time.Duration(n * float64(unit)))
	return nil
}
