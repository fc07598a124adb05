#!/usr/bin/env bash
# Regenerates internal/echopb from the shared contract, harness/workloads/proto/kth/v1/echo.proto.
# The .proto stays free of Go options: protoc's M flag names the Go package instead.
# Needs protoc (Debian: apt-get install -y protobuf-compiler); the Go plugins go to a temp GOBIN.
set -euo pipefail
cd "$(dirname "$0")"
PROTOC_GEN_GO=v1.36.12
PROTOC_GEN_GO_GRPC=v1.6.2
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
GOBIN=$bin go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO"
GOBIN=$bin go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC"
map=Mkth/v1/echo.proto=kth-sample-server/internal/echopb
PATH=$bin:$PATH protoc -I ../proto \
  --go_out=internal/echopb --go_opt=paths=source_relative,$map \
  --go-grpc_out=internal/echopb --go-grpc_opt=paths=source_relative,$map \
  kth/v1/echo.proto
mv internal/echopb/kth/v1/*.go internal/echopb/
rm -r internal/echopb/kth
