package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"

	"github.com/trueup-dev/trueup/reconciler/config"
)

// envPprof names a loopback address on which any trueup command serves Go's
// profiles (net/http/pprof: /debug/pprof/heap and the rest) while it runs,
// for finding where memory or CPU goes: for instance
//
//	TRUEUP_DEBUG_PPROF=127.0.0.1:6060 trueup serve -c trueup.yaml
//	go tool pprof -sample_index=inuse_space http://127.0.0.1:6060/debug/pprof/heap
//
// Unset (the default), nothing is served. Profiles show no Secret values,
// but they do show names and sizes, so only a loopback address is allowed.
const envPprof = "TRUEUP_DEBUG_PPROF"

// startPprof serves the profiles on the address envPprof names, if any;
// stop closes the listener.
func startPprof() (stop func(), err error) {
	addr := os.Getenv(envPprof)
	if addr == "" {
		return func() {}, nil
	}
	if !config.IsLoopbackListen(addr) {
		return nil, fmt.Errorf("%s=%q: not a loopback address; use 127.0.0.1:PORT or [::1]:PORT", envPprof, addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s=%q: %w (pick another port)", envPprof, addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }, nil
}
