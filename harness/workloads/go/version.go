package main

import (
	"runtime/debug"
	"strings"
)

// version names the toolchain and the libraries whose behaviour the server shows.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "kth-sample-server (unknown build)"
	}
	parts := []string{info.GoVersion}
	for _, dep := range info.Deps {
		switch dep.Path {
		case "google.golang.org/grpc":
			parts = append(parts, "grpc-go "+dep.Version)
		case "golang.org/x/net":
			parts = append(parts, "x/net "+dep.Version)
		}
	}
	return "kth-sample-server (" + strings.Join(parts, ", ") + ")"
}
