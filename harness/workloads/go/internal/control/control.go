package control

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"kth-sample-server/internal/promtext"
)

// Control paths: answered but never counted as workload, so probes and scrapes never skew the
// cross-checks.
//
//	GET  /healthz                  200 while the process runs
//	GET  /readyz                   200 when ready, 503 when not (or shutting down)
//	GET  /metrics                  Prometheus text
//	POST /admin/readiness?ready=X  X = true | false | toggle (default toggle); answers {"ready":…}
//	GET  /clock                    {"unixMs":…}: this pod's wall clock to the microsecond, which
//	                               distributed load generators measure their offsets against
const (
	PathHealthz   = "/healthz"
	PathReadyz    = "/readyz"
	PathMetrics   = "/metrics"
	PathReadiness = "/admin/readiness"
	PathClock     = "/clock"
)

// IsControlPath reports whether path is one of the control paths.
func IsControlPath(path string) bool {
	switch path {
	case PathHealthz, PathReadyz, PathMetrics, PathReadiness, PathClock:
		return true
	}
	return false
}

// PathOf is the request target up to '?', undecoded, as the Node servers see req.url.
func PathOf(r *http.Request) string {
	target := r.RequestURI
	if target == "" {
		target = r.URL.RequestURI()
	}
	path, _, _ := strings.Cut(target, "?")
	return path
}

// Context is what control requests read.
type Context struct {
	Readiness *Readiness
	// Metrics renders the Prometheus text at scrape time.
	Metrics func() string
}

// Serve answers a control request; path must satisfy IsControlPath.
func Serve(w http.ResponseWriter, r *http.Request, path string, ctx Context) {
	switch path {
	case PathHealthz:
		Send(w, http.StatusOK, "text/plain", "ok\n")
	case PathReadyz:
		if ctx.Readiness.Ready() {
			Send(w, http.StatusOK, "text/plain", "ready\n")
		} else {
			Send(w, http.StatusServiceUnavailable, "text/plain", "not ready\n")
		}
	case PathMetrics:
		Send(w, http.StatusOK, promtext.ContentType, ctx.Metrics())
	case PathReadiness:
		if r.Method != http.MethodPost && r.Method != http.MethodPut {
			SendJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use POST /admin/readiness?ready=true|false|toggle"})
			return
		}
		wanted := "toggle"
		if values, ok := r.URL.Query()["ready"]; ok {
			wanted = values[0]
		}
		switch wanted {
		case "true", "false":
			ctx.Readiness.Set(wanted == "true")
		case "toggle":
			ctx.Readiness.Set(!ctx.Readiness.Ready())
		default:
			SendJSON(w, http.StatusBadRequest, map[string]string{"error": "ready=" + wanted + ": use true, false or toggle"})
			return
		}
		SendJSON(w, http.StatusOK, map[string]bool{"ready": ctx.Readiness.Ready()})
	case PathClock:
		SendJSON(w, http.StatusOK, map[string]float64{"unixMs": float64(time.Now().UnixMicro()) / 1000})
	default:
		Send(w, http.StatusNotFound, "text/plain", "not found\n")
	}
}

// Send writes a complete response with an explicit length.
func Send(w http.ResponseWriter, status int, contentType, body string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// SendJSON writes value as one line of JSON, as JSON.stringify would (no HTML escaping).
func SendJSON(w http.ResponseWriter, status int, value any) {
	Send(w, status, "application/json", MarshalLine(value))
}

// MarshalLine is value as JSON plus "\n".
func MarshalLine(value any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(value); err != nil {
		panic(err) // only ever called with plain structs and maps
	}
	return b.String()
}
