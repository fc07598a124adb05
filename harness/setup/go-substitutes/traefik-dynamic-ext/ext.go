// Package ext is the extension point Traefik's dynamic configuration embeds (github.com/traefik/
// traefik/dynamic/ext, a nested module the Go module proxy does not serve). Open-source Traefik
// extends nothing through it: the types are empty.
package ext

// HTTP is embedded in dynamic.HTTP.
type HTTP struct{}

// Router is embedded in dynamic.Router.
type Router struct{}
