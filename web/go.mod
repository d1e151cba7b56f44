// This file keeps the front-end tree (and its node_modules) out of the Go
// module, so `go vet ./...` and `go test ./...` never walk npm packages.
module stxgate.invalid/web

go 1.26
