package render

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/fixtures/helm"
	"github.com/trueup-dev/trueup/sources"
)

// TestMain dispatches Helm template workers as trueup's main does
// (os.Executable() of a test binary is the test binary), and renders every
// chart of the package's tests in the sandbox, unless
// TRUEUP_TEST_HELM_SANDBOX=off (then in process, as a library user would).
func TestMain(m *testing.M) {
	if IsHelmWorker() {
		os.Exit(RunHelmWorker(os.Stdin, os.Stdout))
	}
	if os.Getenv("TRUEUP_TEST_HELM_SANDBOX") != "off" {
		if err := EnableHelmSandbox(HelmSandbox{}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// sandboxed returns limits that render in a worker of this test binary;
// inProcess returns limits that render in this process.
func sandboxed(t testing.TB) Options {
	t.Helper()
	exe, err := selfExecutable()
	if err != nil {
		t.Fatal(err)
	}
	opt := DefaultOptions()
	opt.helmSandbox = &HelmSandbox{Command: exe}
	return opt
}

func inProcess() Options {
	opt := DefaultOptions()
	opt.helmSandbox = &HelmSandbox{}
	return opt
}

// bombChart is a chart at bomb/ whose one template is tmpl, with the
// partials in helpers.
func bombChart(helpers, tmpl string) sources.Files {
	return sources.Files{
		"bomb/Chart.yaml":             []byte("apiVersion: v2\nname: bomb\nversion: 0.1.0\n"),
		"bomb/templates/_helpers.tpl": []byte(helpers),
		"bomb/templates/cm.yaml":      []byte(tmpl),
	}
}

// exponentialInclude: t(i+1) includes t(i) twice and drops the result, so
// t40 runs 2^40 includes in little memory: only the timeout stops it.
func exponentialInclude() sources.Files {
	var b strings.Builder
	b.WriteString(`{{- define "t0" }}x{{ end }}`)
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&b, `{{- define "t%d" }}{{ $a := include "t%d" . }}{{ $b := include "t%d" . }}{{ end }}`+"\n", i, i-1, i-1)
	}
	return bombChart(b.String(), "{{ include \"t40\" . }}\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\n")
}

// outputDoubling doubles a string of 16 MiB 5 times (512 MiB): memory
// stops it.
func outputDoubling() sources.Files {
	return bombChart("", `{{- $s := repeat 16777216 "x" }}{{- range until 5 }}{{ $s = repeat 2 $s }}{{ end }}`+
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata: {s: '{{ $s }}'}\n")
}

// TestHelmSandboxStopsChartBombs renders a chart whose templates never
// finish and one whose output doubles until it fills the memory: each fails
// with a limit error, the worker is gone (no child of the test remains,
// not even a zombie), no template goroutine runs on in this process, and
// this process allocated next to nothing for either.
func TestHelmSandboxStopsChartBombs(t *testing.T) {
	tests := []struct {
		name    string
		files   sources.Files
		timeout time.Duration
		message string
	}{
		{"exponential include", exponentialInclude(), 3 * time.Second,
			"render chart bomb: templates did not finish within 3s (a template recursion or an output bomb): fix the chart"},
		{"output doubling", outputDoubling(), time.Minute, // memory stops it first
			"render chart bomb: templates used more than 128 MiB of memory (a template recursion or an output bomb): fix the chart"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := sandboxed(t)
			opt.MaxTemplateMemory = 128 << 20
			var before, after runtime.MemStats
			running := quietTemplates(t)
			runtime.ReadMemStats(&before)
			_, err := RenderHelm(t.Context(), tt.files, HelmOptions{Chart: "bomb", ReleaseName: "x", Timeout: tt.timeout}, opt)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrLimit) || err.Error() != tt.message {
				t.Errorf("error = %v, want a limit error %q", err, tt.message)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
				t.Errorf("this process allocated %d MiB while the worker rendered the bomb, want it to stay out of the bomb's way", grew>>20)
			}
			if n := templateGoroutines(); n > running {
				t.Errorf("%d Helm template goroutines run on in this process", n-running)
			}
			noChildren(t)
		})
	}
}

// TestHelmSandboxStopsOnCancel: a render whose context ends (the daemon
// shuts down) returns the context's error at once and leaves no worker.
func TestHelmSandboxStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	running := templateGoroutines()
	go func() {
		waitForChild(t)
		cancel()
	}()
	_, err := RenderHelm(ctx, exponentialInclude(), HelmOptions{Chart: "bomb", ReleaseName: "x", Timeout: time.Hour}, sandboxed(t))
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrLimit) {
		t.Errorf("error = %v, want the context's cancellation", err)
	}
	if n := templateGoroutines(); n > running {
		t.Errorf("%d Helm template goroutines run on in this process", n-running)
	}
	noChildren(t)
}

// TestHelmSandboxRendersAsInProcess renders the fixture charts and the
// package's test charts in the sandbox and in process: same objects, same
// order, same origins, same hooks.
func TestHelmSandboxRendersAsInProcess(t *testing.T) {
	repo := chartRepo(t)
	for p, data := range helm.Files("podinfo") {
		repo["podinfo/"+p] = data
	}
	for p, data := range helm.Files("shop") {
		repo["shop/"+p] = data
	}
	cases := []HelmOptions{
		{Chart: "podinfo", ReleaseName: "web", Namespace: "apps", KubeVersion: "v1.33.0"},
		{Chart: "shop", ReleaseName: "shop", Namespace: "shop", IncludeCRDs: true, KubeVersion: "v1.33.0", Set: []SetValue{{Key: "a.b", Value: "x,y"}}},
		{Chart: "charts/umbrella", ReleaseName: "u", IncludeCRDs: true},
		{Chart: "charts/web", ReleaseName: "w", Values: []ValuesFile{{Name: "v.yaml", Data: []byte("replicas: 3\n")}}},
	}
	for _, h := range cases {
		t.Run(h.Chart, func(t *testing.T) {
			want, err := RenderHelm(t.Context(), repo, h, inProcess())
			if err != nil {
				t.Fatal(err)
			}
			got, err := RenderHelm(t.Context(), repo, h, sandboxed(t))
			if err != nil {
				t.Fatal(err)
			}
			if len(want.Objects) == 0 {
				t.Fatal("the chart rendered nothing: the case proves nothing")
			}
			if w, g := fmt.Sprint(summary(want.Objects), hooks(want.Hooks)), fmt.Sprint(summary(got.Objects), hooks(got.Hooks)); w != g {
				t.Fatalf("sandbox rendered\n%s\nin process\n%s", g, w)
			}
			for i := range want.Objects {
				w, _ := want.Objects[i].Object.MarshalJSON()
				g, _ := got.Objects[i].Object.MarshalJSON()
				if string(w) != string(g) {
					t.Errorf("object %d: sandbox %s, in process %s", i, g, w)
				}
			}
		})
	}
}

// hooks are the hooks' events and origins (their names may be random).
func hooks(hs []Hook) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Events+" <- "+docID(h.Origin.File, h.Origin.Index))
	}
	return out
}

// TestHelmSandboxErrorsKeepTheirKind: errors from the worker read as the
// in-process ones, kind and text.
func TestHelmSandboxErrorsKeepTheirKind(t *testing.T) {
	repo := chartRepo(t)
	for _, h := range []HelmOptions{
		{Chart: "charts/lookup", ReleaseName: "x", Namespace: "prod"},
		{Chart: "charts/recursion", ReleaseName: "x"},
	} {
		t.Run(h.Chart, func(t *testing.T) {
			_, want := RenderHelm(t.Context(), repo, h, inProcess())
			_, got := RenderHelm(t.Context(), repo, h, sandboxed(t))
			if want == nil || got == nil || got.Error() != want.Error() {
				t.Fatalf("sandbox: %v\nin process: %v", got, want)
			}
			for _, kind := range errorKinds {
				if errors.Is(got, kind) != errors.Is(want, kind) {
					t.Errorf("sandbox error is %v: %t, in process: %t", kind, errors.Is(got, kind), errors.Is(want, kind))
				}
			}
		})
	}
}

// TestHelmWorkerFailures: a worker that is not trueup's, crashes, is killed,
// hangs or answers too much gives a clear error, and is gone afterwards (a hanging
// worker's own children too: its process group is killed). The worker
// gets the marker and none of this process's other environment.
func TestHelmWorkerFailures(t *testing.T) {
	t.Setenv("SECRET_FOR_TEST", "the worker must not see it")
	pidFile := filepath.Join(t.TempDir(), "pid")
	tests := []struct {
		name    string
		script  string
		timeout time.Duration
		kind    error
		message string
	}{
		{"garbage", "echo garbage", 0, ErrHelm,
			"render chart charts/web: templates: read the answer of the helm worker /bin/sh: unexpected EOF: is it trueup's worker?"},
		{"crash", "echo 'panic: boom' >&2; echo more >&2; exit 3", 0, ErrHelm,
			"render chart charts/web: templates: the helm worker /bin/sh failed (exit status 3): panic: boom: this is a trueup bug, please report it"},
		{"environment", `echo "$TRUEUP_HELM_WORKER:${SECRET_FOR_TEST:-unset}" >&2; exit 4`, 0, ErrHelm,
			"render chart charts/web: templates: the helm worker /bin/sh failed (exit status 4): 1:unset: this is a trueup bug, please report it"},
		{"killed", "kill -9 $$", 0, ErrHelm,
			"render chart charts/web: templates: the helm worker /bin/sh was killed (signal: killed): the system may be out of memory: give trueup more memory or lower render limits"},
		{"hang", "echo $$ >" + pidFile + "; sleep 600; true", time.Second, ErrLimit,
			"render chart charts/web: templates did not finish within 1s (a template recursion or an output bomb): fix the chart"},
		{"answer too large", "head -c 5000000 /dev/zero", 0, ErrLimit,
			"render chart charts/web: templates produced more than 1048576 bytes (an output bomb): fix the chart"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := DefaultOptions()
			opt.MaxBytes = 1 << 20
			opt.helmSandbox = &HelmSandbox{Command: "/bin/sh", Args: []string{"-c", tt.script}}
			_, err := RenderHelm(t.Context(), chartRepo(t), HelmOptions{Chart: "charts/web", ReleaseName: "x", Timeout: tt.timeout}, opt)
			if !errors.Is(err, tt.kind) || err.Error() != tt.message {
				t.Errorf("error = %v, want %v %q", err, tt.kind, tt.message)
			}
			noChildren(t)
		})
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pgid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	// The worker's killed child is reparented, and reaped by whoever is pid
	// 1 here: a zombie is dead.
	if left := processes(func(p procStat) bool { return p.pgid == pgid && p.state != "Z" }); len(left) > 0 {
		t.Errorf("the hanging worker's process group %d still runs %v", pgid, left)
	}
}

// TestEnableHelmSandboxNeedsTheDispatch: a program that never asked
// IsHelmWorker cannot make itself the worker (it would run itself again,
// not a worker: a test binary would run its tests, recursively).
func TestEnableHelmSandboxNeedsTheDispatch(t *testing.T) {
	defer workerChecked.Store(workerChecked.Load())
	workerChecked.Store(false)
	if err := EnableHelmSandbox(HelmSandbox{}); err == nil || !strings.Contains(err.Error(), "never asked render.IsHelmWorker") {
		t.Errorf("enable without the dispatch = %v, want a refusal", err)
	}
}

// quietTemplates waits (a minute at most) for the template goroutines an
// earlier in-process render left behind (TRUEUP_TEST_HELM_SANDBOX=off) to
// end, as they allocate in this process, and returns how many still run.
func quietTemplates(t *testing.T) int {
	t.Helper()
	for range 600 {
		if templateGoroutines() == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return templateGoroutines()
}

// templateGoroutines counts the goroutines of this process that run Helm
// templates.
func templateGoroutines() int {
	buf := make([]byte, 8<<20)
	n := 0
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "helm.sh/helm/v4/pkg/engine") {
			n++
		}
	}
	return n
}

// noChildren fails when this process has a child, running or a zombie,
// once the pool's idle workers are closed.
func noChildren(t *testing.T) {
	t.Helper()
	CloseHelmWorkers()
	if left := processes(func(p procStat) bool { return p.ppid == os.Getpid() }); len(left) > 0 {
		t.Errorf("children of the test left: %v", left)
	}
}

// waitForChild waits until this process has a child (10s at most).
func waitForChild(t *testing.T) {
	for i := 0; i < 1000 && len(processes(func(p procStat) bool { return p.ppid == os.Getpid() })) == 0; i++ {
		time.Sleep(10 * time.Millisecond)
	}
}

type procStat struct {
	pid, ppid, pgid int
	state           string
}

// processes lists the processes of the system that match.
func processes(match func(procStat) bool) []procStat {
	entries, _ := os.ReadDir("/proc")
	var out []procStat
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parens.
		i := strings.LastIndexByte(string(data), ')')
		f := strings.Fields(string(data[i+1:]))
		if len(f) < 3 {
			continue
		}
		p := procStat{pid: pid, state: f[0]}
		p.ppid, _ = strconv.Atoi(f[1])
		p.pgid, _ = strconv.Atoi(f[2])
		if match(p) {
			out = append(out, p)
		}
	}
	return out
}

// trueupWorker is limits that render in the trueup binary that
// TRUEUP_BENCH_HELM_WORKER names (none: no sandbox set).
func trueupWorker() Options {
	opt := DefaultOptions()
	if exe := os.Getenv("TRUEUP_BENCH_HELM_WORKER"); exe != "" {
		opt.helmSandbox = &HelmSandbox{Command: exe}
	}
	return opt
}

// BenchmarkHelmPodinfo renders the podinfo chart in process and in the
// sandbox (a worker process per render), side by side; with
// TRUEUP_BENCH_HELM_WORKER naming a trueup binary (go build ./cmd/trueup),
// also with that binary as the worker, as the daemon runs it.
func BenchmarkHelmPodinfo(b *testing.B) {
	repo := sources.Files{}
	for p, data := range helm.Files("podinfo") {
		repo["podinfo/"+p] = data
	}
	h := HelmOptions{Chart: "podinfo", ReleaseName: "web", Namespace: "apps", KubeVersion: "v1.33.0"}
	for _, bc := range []struct {
		name string
		opt  Options
	}{{"in-process", inProcess()}, {"sandbox", sandboxed(b)}, {"sandbox-trueup", trueupWorker()}} {
		if bc.opt.helmSandbox == nil {
			continue
		}
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := RenderHelm(context.Background(), repo, h, bc.opt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestHelmWorkerPoolReuses: a worker that answered renders the next chart
// too (no process start per render); one that was killed (a bomb) is never
// given another chart.
func TestHelmWorkerPoolReuses(t *testing.T) {
	CloseHelmWorkers()
	opt := sandboxed(t)
	idlePIDs := func() []int {
		pool.mu.Lock()
		defer pool.mu.Unlock()
		var pids []int
		for _, w := range pool.idle {
			pids = append(pids, w.cmd.Process.Pid)
		}
		return pids
	}
	h := HelmOptions{Chart: "charts/web", ReleaseName: "x"}
	if _, err := RenderHelm(t.Context(), chartRepo(t), h, opt); err != nil {
		t.Fatal(err)
	}
	first := idlePIDs()
	if len(first) != 1 {
		t.Fatalf("idle workers after a render: %v, want one", first)
	}
	if _, err := RenderHelm(t.Context(), chartRepo(t), h, opt); err != nil {
		t.Fatal(err)
	}
	if again := idlePIDs(); len(again) != 1 || again[0] != first[0] {
		t.Fatalf("idle workers after a second render: %v, want the same worker %v", again, first)
	}
	bomb := HelmOptions{Chart: "bomb", ReleaseName: "x", Timeout: 2 * time.Second}
	if _, err := RenderHelm(t.Context(), exponentialInclude(), bomb, opt); !errors.Is(err, ErrLimit) {
		t.Fatalf("bomb: %v, want ErrLimit", err)
	}
	if left := idlePIDs(); len(left) != 0 {
		t.Errorf("idle workers after the bomb killed the only one: %v", left)
	}
	noChildren(t)
}

// TestHelmWorkerPoolConcurrent: renders at once each get a worker, the
// pool keeps at most maxIdleWorkers of them, and closing it leaves none.
func TestHelmWorkerPoolConcurrent(t *testing.T) {
	CloseHelmWorkers()
	opt := sandboxed(t)
	errs := make(chan error, 6)
	for range 6 {
		go func() {
			_, err := RenderHelm(t.Context(), chartRepo(t), HelmOptions{Chart: "charts/web", ReleaseName: "x"}, opt)
			errs <- err
		}()
	}
	for range 6 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	pool.mu.Lock()
	idle := len(pool.idle)
	pool.mu.Unlock()
	if idle < 1 || idle > maxIdleWorkers {
		t.Errorf("%d idle workers after 6 renders, want 1 to %d", idle, maxIdleWorkers)
	}
	noChildren(t)
}
