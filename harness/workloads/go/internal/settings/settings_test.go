package settings

import (
	"errors"
	"strings"
	"testing"
	"time"

	"kth-sample-server/internal/problem"
)

func TestParseDuration(t *testing.T) {
	good := map[string]time.Duration{
		"5000": 5 * time.Second, "0": 0, "2.5": 2500 * time.Microsecond, " 750 ": 750 * time.Millisecond,
		"500ms": 500 * time.Millisecond, "5s": 5 * time.Second, "2m": 2 * time.Minute, "1h": time.Hour,
		"1.5s": 1500 * time.Millisecond, " 30 s ": 30 * time.Second,
	}
	for in, want := range good {
		if got, problem := parseDuration(in); problem != "" || got != want {
			t.Errorf("parseDuration(%q) = %v, %q; want %v", in, got, problem, want)
		}
	}
	bad := map[string]string{"-1": "is negative", "-5s": "is negative", "often": "is not a duration", "5 sec": "is not a duration", "1e3": "is not a duration", "": "is not a duration", "5d": "is not a duration"}
	for in, want := range bad {
		if _, problem := parseDuration(in); problem != want {
			t.Errorf("parseDuration(%q) problem = %q, want %q", in, problem, want)
		}
	}
}

func TestJSNumber(t *testing.T) {
	for in, want := range map[string]float64{"0.05": 0.05, " 1 ": 1, ".5": 0.5, "5.": 5, "1e-2": 0.01, "-0.5": -0.5} {
		if got := jsNumber(in); got != want {
			t.Errorf("jsNumber(%q) = %v, want %v", in, got, want)
		}
	}
	for _, in := range []string{"", "abc", "0.5x", "nan", "1_0"} {
		if got := jsNumber(in); got == got {
			t.Errorf("jsNumber(%q) = %v, want NaN", in, got)
		}
	}
}

type testConfig struct {
	host      string
	port      int
	keepAlive time.Duration
	maxReqs   int64
	rate      float64
	h2c       bool
	node      string
}

func testTable(c *testConfig) []Setting {
	return []Setting{
		Text(Spec{Label: "host", Flag: "--host", Env: "KTH_HOST", Value: "<address>"}, &c.host, func() string { return "0.0.0.0" }, false),
		Port(Spec{Label: "port", Flag: "--port", Env: "KTH_PORT", Value: "<port>"}, &c.port, 8080),
		Duration(Spec{Label: "keep-alive timeout", Flag: "--keepalive-timeout", Env: "KTH_KEEPALIVE_TIMEOUT", Value: "<duration>"}, &c.keepAlive, 5*time.Second),
		Integer(Spec{Label: "max requests per connection", Flag: "--max-requests-per-connection", Env: "KTH_MAX_REQUESTS_PER_CONNECTION", Value: "<count>"}, &c.maxReqs, 0, 0, Unbounded),
		Ratio(Spec{Label: "error rate", Flag: "--error-rate", Env: "KTH_ERROR_RATE", Value: "<fraction>"}, &c.rate, 0),
		Bool(Spec{Label: "h2c", Flag: "--no-h2c", Env: "KTH_H2C"}, &c.h2c, true),
		Text(Spec{Label: "node name", Flag: "--node-name", Env: "NODE_NAME", Value: "<name>"}, &c.node, func() string { return "" }, true),
	}
}

func envOf(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

func TestDefaultsFlagsAndEnv(t *testing.T) {
	var c testConfig
	err := Parse("http", testTable(&c), []string{"--port", "0", "--keepalive-timeout=300ms", "--no-h2c"},
		envOf(map[string]string{"KTH_PORT": "9999", "KTH_ERROR_RATE": "0.25", "KTH_MAX_REQUESTS_PER_CONNECTION": "", "NODE_NAME": ""}))
	if err != nil {
		t.Fatal(err)
	}
	want := testConfig{host: "0.0.0.0", port: 0, keepAlive: 300 * time.Millisecond, maxReqs: 0, rate: 0.25, h2c: false, node: ""}
	if c != want {
		t.Errorf("got %+v, want %+v", c, want)
	}
}

func TestEveryProblemAtOnce(t *testing.T) {
	var c testConfig
	err := Parse("http", testTable(&c), []string{"--keepalive-timeout", "-1", "--port", "70000"},
		envOf(map[string]string{"KTH_ERROR_RATE": "2", "KTH_H2C": "maybe", "KTH_HOST": " ", "KTH_MAX_REQUESTS_PER_CONNECTION": "1.5"}))
	var p *problem.Error
	if !errors.As(err, &p) || !p.BadInput {
		t.Fatalf("want a bad-input problem, got %v", err)
	}
	want := []string{
		"host: ' ' is empty; set KTH_HOST/--host to a non-empty value",
		"port: 70000 is above 65535; set KTH_PORT/--port to a whole number from 0 to 65535",
		"keep-alive timeout: -1 is negative; set KTH_KEEPALIVE_TIMEOUT/--keepalive-timeout to ≥ 0",
		"max requests per connection: 1.5 is not a whole number; set KTH_MAX_REQUESTS_PER_CONNECTION/--max-requests-per-connection to a whole number ≥ 0",
		"error rate: 2 is outside 0..1; set KTH_ERROR_RATE/--error-rate to a fraction from 0 to 1, e.g. 0.05",
		"h2c: 'maybe' is not true or false; set KTH_H2C to true or false (or pass --no-h2c)",
	}
	if got := strings.Split(p.Message, "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("messages:\n%s\nwant:\n%s", p.Message, strings.Join(want, "\n"))
	}
	if p.Where != "--host, --port, --keepalive-timeout, --max-requests-per-connection, --error-rate, --no-h2c" {
		t.Errorf("where = %q", p.Where)
	}
}

func TestDurationWordsMatchNode(t *testing.T) {
	var c testConfig
	err := Parse("grpc", testTable(&c), nil, envOf(map[string]string{"KTH_KEEPALIVE_TIMEOUT": "-5s"}))
	if err == nil || err.Error() != "keep-alive timeout: '-5s' is negative; set KTH_KEEPALIVE_TIMEOUT/--keepalive-timeout to ≥ 0" {
		t.Errorf("got %v", err)
	}
	err = Parse("grpc", testTable(&c), nil, envOf(map[string]string{"KTH_KEEPALIVE_TIMEOUT": "often"}))
	if err == nil || err.Error() != "keep-alive timeout: 'often' is not a duration; set KTH_KEEPALIVE_TIMEOUT/--keepalive-timeout to milliseconds or a duration such as 500ms, 5s, 2m" {
		t.Errorf("got %v", err)
	}
}

func TestUsageMistakes(t *testing.T) {
	var c testConfig
	cases := map[string][]string{
		"unknown option '--bogus'":                                       {"--bogus", "1"},
		"option '--port <port>' argument missing":                        {"--port"},
		"too many arguments for 'http'. Expected 0 arguments but got 1.": {"extra"},
		"option '--no-h2c' does not take an argument":                    {"--no-h2c=false"},
	}
	for want, args := range cases {
		err := Parse("http", testTable(&c), args, envOf(nil))
		if err == nil || err.Error() != want {
			t.Errorf("%v: got %v, want %q", args, err, want)
		}
	}
	if err := Parse("http", testTable(&c), []string{"--help"}, envOf(nil)); !errors.Is(err, ErrHelp) {
		t.Errorf("--help: got %v", err)
	}
}
