// Package settings reads server settings the way `kth serve` does (harness/workloads/settings.ts):
// every setting is a flag and an env var, a flag on the command line wins, and every bad value is
// reported at once in the same words.
package settings

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Spec is one setting as users meet it: a label in messages, a CLI flag and an env var.
type Spec struct {
	Label string
	// Flag is the CLI flag; boolean settings that default to true use "--no-…".
	Flag string
	Env  string
	// Value is the placeholder in --help ("<duration>"); empty for boolean flags.
	Value       string
	Description string
}

// Setting binds a Spec to where its value goes.
type Setting struct {
	Spec
	// apply stores the parsed value (or the default when unset) and returns a problem text, if any.
	apply func(raw string, set bool) string
	// shownDefault is the default as --help shows it.
	shownDefault string
}

// maxSafeInteger is JavaScript's Number.MAX_SAFE_INTEGER, the unbounded maximum of the Node schemas.
const maxSafeInteger = 9007199254740991

// Text is a trimmed string; empty values are refused unless allowEmpty.
func Text(spec Spec, dst *string, def func() string, allowEmpty bool) Setting {
	return Setting{Spec: spec, shownDefault: def(), apply: func(raw string, set bool) string {
		if !set {
			*dst = def()
			return ""
		}
		if strings.TrimSpace(raw) == "" && !allowEmpty {
			return reject(spec, raw, "is empty", "a non-empty value")
		}
		*dst = strings.TrimSpace(raw)
		return ""
	}}
}

// Duration is milliseconds as a number ("5000") or a duration string ("500ms", "5s", "2m", "1h").
func Duration(spec Spec, dst *time.Duration, def time.Duration) Setting {
	return Setting{Spec: spec, shownDefault: fmt.Sprintf("%gms", float64(def)/float64(time.Millisecond)), apply: func(raw string, set bool) string {
		*dst = def
		if !set || raw == "" {
			return ""
		}
		d, problem := parseDuration(raw)
		if problem != "" {
			expectation := "≥ 0"
			if problem != "is negative" {
				expectation = "milliseconds or a duration such as 500ms, 5s, 2m"
			}
			return reject(spec, raw, problem, expectation)
		}
		*dst = d
		return ""
	}}
}

// DurationOffOrAtLeast is a Duration that is 0 (off) or at least floor: where grpc-go cannot go
// lower, both servers refuse the value rather than this one silently rounding it up (durationSetting's
// floor in settings.ts has the same words).
func DurationOffOrAtLeast(spec Spec, dst *time.Duration, def, floor time.Duration, expectation string) Setting {
	inner := Duration(spec, dst, def)
	apply := inner.apply
	inner.apply = func(raw string, set bool) string {
		if problem := apply(raw, set); problem != "" {
			return problem
		}
		if *dst > 0 && *dst < floor {
			return reject(spec, raw, fmt.Sprintf("is below %gs", floor.Seconds()), expectation)
		}
		return ""
	}
	return inner
}

// Integer is a whole number within [min, max].
func Integer(spec Spec, dst *int64, def, min, max int64) Setting {
	rangeText := fmt.Sprintf("a whole number from %d to %d", min, max)
	if max == maxSafeInteger {
		rangeText = fmt.Sprintf("a whole number ≥ %d", min)
	}
	return Setting{Spec: spec, shownDefault: strconv.FormatInt(def, 10), apply: func(raw string, set bool) string {
		*dst = def
		if !set || raw == "" {
			return ""
		}
		n := math.NaN()
		if integerText.MatchString(raw) {
			n, _ = strconv.ParseFloat(strings.TrimSpace(raw), 64)
		}
		switch {
		case math.IsNaN(n):
			return reject(spec, raw, "is not a number", rangeText)
		case n != math.Trunc(n):
			return reject(spec, raw, "is not a whole number", rangeText)
		case n < float64(min) && min == 0:
			return reject(spec, raw, "is negative", rangeText)
		case n < float64(min):
			return reject(spec, raw, fmt.Sprintf("is below %d", min), rangeText)
		case n > float64(max):
			return reject(spec, raw, fmt.Sprintf("is above %d", max), rangeText)
		}
		*dst = int64(n)
		return ""
	}}
}

// Unbounded is the max of an Integer setting without an upper bound.
const Unbounded = maxSafeInteger

// Port is a TCP port; 0 picks a free one.
func Port(spec Spec, dst *int, def int) Setting {
	var n int64
	inner := Integer(spec, &n, int64(def), 0, 65535)
	inner.apply = wrapApply(inner.apply, func() { *dst = int(n) })
	return inner
}

// Ratio is a fraction from 0 to 1.
func Ratio(spec Spec, dst *float64, def float64) Setting {
	const expectation = "a fraction from 0 to 1, e.g. 0.05"
	return Setting{Spec: spec, shownDefault: strconv.FormatFloat(def, 'f', -1, 64), apply: func(raw string, set bool) string {
		*dst = def
		if !set || raw == "" {
			return ""
		}
		n := jsNumber(raw)
		switch {
		case math.IsNaN(n):
			return reject(spec, raw, "is not a number", expectation)
		case n < 0 || n > 1:
			return reject(spec, raw, "is outside 0..1", expectation)
		}
		*dst = n
		return ""
	}}
}

// Bool accepts true/false, 1/0, yes/no, on/off.
func Bool(spec Spec, dst *bool, def bool) Setting {
	return Setting{Spec: spec, apply: func(raw string, set bool) string {
		*dst = def
		if !set || raw == "" {
			return ""
		}
		switch strings.ToLower(strings.TrimSpace(raw)) {
		case "true", "1", "yes", "on":
			*dst = true
		case "false", "0", "no", "off":
			*dst = false
		default:
			expectation := "true or false"
			if spec.Value == "" {
				expectation = "true or false (or pass " + spec.Flag + ")"
			}
			return reject(spec, raw, "is not true or false", expectation)
		}
		return ""
	}}
}

func wrapApply(apply func(string, bool) string, after func()) func(string, bool) string {
	return func(raw string, set bool) string {
		problem := apply(raw, set)
		after()
		return problem
	}
}

// reject words a problem as the Node schemas do:
// "keep-alive timeout: -1 is negative; set KTH_KEEPALIVE_TIMEOUT/--keepalive-timeout to ≥ 0".
func reject(spec Spec, raw, problem, expectation string) string {
	fix := "set " + spec.Env + "/" + spec.Flag + " to " + expectation
	if spec.Value == "" {
		fix = "set " + spec.Env + " to " + expectation
	}
	return fmt.Sprintf("%s: %s %s; %s", spec.Label, shown(raw), problem, fix)
}

// shown quotes a value unless it reads as a number: "-1 is negative", "'often' is not a duration".
func shown(raw string) string {
	if plainNumber.MatchString(raw) {
		return raw
	}
	return "'" + raw + "'"
}

// TerminationLogSpec is both servers' last setting: where to leave the final counters on exit
// (harness/workloads/final-counters.ts).
var TerminationLogSpec = Spec{Label: "termination log", Flag: "--termination-log", Env: "KTH_TERMINATION_LOG", Value: "<path>",
	Description: "on exit, write the final counters (JSON) to this file: the container's terminationMessagePath; unset = do not"}
