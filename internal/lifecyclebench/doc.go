// Package lifecyclebench measures what the finding lifecycle costs on top of
// Temporal itself (issue 9, item 5): it drives finding lifecycles through
// the gRPC API and a bare workflow taking the same six Updates, in
// interleaved rounds against the same Temporal dev server and worker, and
// prints their durations, the ratio lifecycle/bare and the history events
// per lifecycle.
//
// It is an instrument run by hand, never by `make test`: everything but the
// statistics is behind the build tag lifecyclebench, so `go test ./...`
// does not compile it. Run it with
//
//	make bench-lifecycle                          # the defaults
//	make bench-lifecycle BENCH_FLAGS='-rounds=3 -n=8 -clients=1'
//
// which is `go test -tags lifecyclebench -run TestLifecycleOverhead -v
// ./internal/lifecyclebench -args <flags>`; see bench_test.go for the flags.
package lifecyclebench
