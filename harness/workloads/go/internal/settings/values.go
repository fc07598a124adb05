package settings

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var (
	plainNumber  = regexp.MustCompile(`^-?\d+(\.\d+)?$`)
	integerText  = regexp.MustCompile(`^\s*-?\d+(\.\d+)?\s*$`)
	durationText = regexp.MustCompile(`^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$`)
	// jsNumberText is what JavaScript's Number() reads as a decimal number.
	jsNumberText = regexp.MustCompile(`^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$`)
)

var unitMs = map[string]float64{"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}

// parseDuration reads milliseconds ("5000", "2.5") or a number with a unit ("500ms", "5s", "2m",
// "1h"), as harness/core/duration.ts does; the problem text is empty when the value is good.
func parseDuration(raw string) (time.Duration, string) {
	text := strings.TrimSpace(raw)
	var ms float64
	switch {
	case plainNumber.MatchString(text):
		ms, _ = strconv.ParseFloat(text, 64)
		if ms < 0 {
			return 0, "is negative"
		}
	case strings.HasPrefix(text, "-"):
		return 0, "is negative"
	default:
		match := durationText.FindStringSubmatch(text)
		if match == nil {
			return 0, "is not a duration"
		}
		n, _ := strconv.ParseFloat(match[1], 64)
		ms = n * unitMs[match[2]]
	}
	return msToDuration(ms), ""
}

func msToDuration(ms float64) time.Duration {
	ns := ms * float64(time.Millisecond)
	if ns >= math.MaxInt64 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(math.Round(ns))
}

// jsNumber parses text like JavaScript's Number(): surrounding space allowed, NaN when not a number.
func jsNumber(raw string) float64 {
	text := strings.TrimSpace(raw)
	switch text {
	case "":
		return math.NaN()
	case "Infinity", "+Infinity":
		return math.Inf(1)
	case "-Infinity":
		return math.Inf(-1)
	}
	if !jsNumberText.MatchString(text) {
		return math.NaN()
	}
	n, err := strconv.ParseFloat(text, 64)
	if err != nil && !math.IsInf(n, 0) {
		return math.NaN()
	}
	return n
}
