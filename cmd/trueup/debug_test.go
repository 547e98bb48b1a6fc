package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestPprofServesProfilesOnLoopbackOnly(t *testing.T) {
	t.Run("a non-loopback address is refused", func(t *testing.T) {
		t.Setenv(envPprof, "0.0.0.0:0")
		_, stderr, code := trueup(t, "version")
		if code != exitError || !strings.Contains(stderr, envPprof) || !strings.Contains(stderr, "not a loopback address") {
			t.Fatalf("exit %d, stderr %q; want exit %d naming %s as not loopback", code, stderr, exitError, envPprof)
		}
	})
	t.Run("a loopback address serves the heap profile until stopped", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		t.Setenv(envPprof, addr)
		stop, err := startPprof()
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get("http://" + addr + "/debug/pprof/heap?debug=1")
		if err != nil {
			stop()
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		stop()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "heap profile") {
			t.Fatalf("GET /debug/pprof/heap: %s %.200q", resp.Status, body)
		}
		if resp, err := http.Get("http://" + addr + "/debug/pprof/heap"); err == nil {
			resp.Body.Close()
			t.Fatalf("profiles still served after stop: %s", resp.Status)
		}
	})
}
