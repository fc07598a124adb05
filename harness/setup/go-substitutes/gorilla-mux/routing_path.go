package mux

// What Traefik's fork of gorilla/mux (github.com/containous/mux, not served by the Go module
// proxy) adds to v1.8.1 and Traefik's HTTP muxer uses: path matchers that read the path from the
// request context, where Traefik stores the URL path with its non-reserved characters decoded.

import "net/http"

type routingPathKey struct{}

// RoutingPathKey is the request context key under which the routing path is stored.
var RoutingPathKey = routingPathKey{}

// UseRoutingPath makes the router's path matchers use the path stored under RoutingPathKey,
// when there is one, instead of the URL's.
func (r *Router) UseRoutingPath() *Router {
	r.useRoutingPath = true
	return r
}

// routingPathOf is the path a matcher compares: the routing path when enabled and set.
func routingPathOf(req *http.Request, path string, enabled bool) string {
	if !enabled {
		return path
	}
	if routing, ok := req.Context().Value(RoutingPathKey).(string); ok {
		return routing
	}
	return path
}
