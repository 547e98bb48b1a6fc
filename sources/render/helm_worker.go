package render

import (
	"bufio"
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
)

// The Helm template worker. Helm's engine cannot be stopped once it runs:
// a chart whose templates recurse exponentially or double their output
// keeps a goroutine burning CPU and memory until the process dies. With
// the sandbox enabled, the templates run in a child process of the same
// executable instead, which the render kills when the timeout passes, when
// its output passes the byte limit, or when the caller's context ends; the
// child exits by itself when its memory passes Options.MaxTemplateMemory.
// A worker that rendered a chart renders the next one (a pool of at most
// maxIdleWorkers waits between renders), so a render costs no process
// start; a worker whose render failed is never reused.

// DefaultMaxTemplateMemory bounds the memory of a Helm template worker.
const DefaultMaxTemplateMemory = 1 << 30

const (
	// helmWorkerEnv marks a process started as a Helm template worker.
	helmWorkerEnv = "TRUEUP_HELM_WORKER"
	// workerExitMemory is the worker's exit code when it passed its
	// memory limit.
	workerExitMemory = 86
	// workerGrace is the time the worker gets beyond the template timeout
	// to start, load the chart and report the timeout itself.
	workerGrace = 2 * time.Second
	// workerMemoryPoll is how often the worker looks at its memory.
	workerMemoryPoll = 25 * time.Millisecond
	// workerStderr is how much of the worker's stderr an error quotes.
	workerStderr = 512
	// workerOverhead is what the worker's answer may carry beyond the
	// template output (template names, encoding).
	workerOverhead = 1 << 20
)

// HelmSandbox says how to start a Helm template worker.
type HelmSandbox struct {
	// Command is the worker's executable; "" is this executable, whose
	// main (and TestMain) must dispatch to RunHelmWorker when IsHelmWorker.
	Command string
	// Args are the worker's arguments.
	Args []string
}

var (
	// workerChecked records that this program asked IsHelmWorker, so its
	// main dispatches worker processes to RunHelmWorker.
	workerChecked atomic.Bool
	// helmSandbox is the sandbox RenderHelm uses (nil: templates run in
	// this process).
	helmSandbox atomic.Pointer[HelmSandbox]
)

// IsHelmWorker reports whether this process was started as a Helm template
// worker. A program that enables the sandbox calls it first thing in main
// (and in TestMain) and then exits with RunHelmWorker's code:
//
//	if render.IsHelmWorker() {
//		os.Exit(render.RunHelmWorker(os.Stdin, os.Stdout))
//	}
func IsHelmWorker() bool {
	workerChecked.Store(true)
	return os.Getenv(helmWorkerEnv) == "1"
}

// EnableHelmSandbox makes RenderHelm run chart templates in a worker
// process that it can kill. With an empty Command the worker is this
// executable, which is refused unless this program asked IsHelmWorker
// before (a program without the dispatch would run itself again, not a
// worker). Call it once, from main, before rendering.
func EnableHelmSandbox(s HelmSandbox) error {
	if s.Command == "" {
		if !workerChecked.Load() {
			return errors.New("enable the helm sandbox: this program never asked render.IsHelmWorker: " +
				"dispatch to render.RunHelmWorker first thing in main (and TestMain), or name the worker's command")
		}
		if IsHelmWorker() {
			return errors.New("enable the helm sandbox: this process is a helm worker: it must not start workers")
		}
		exe, err := selfExecutable()
		if err != nil {
			return fmt.Errorf("enable the helm sandbox: find this executable: %w", err)
		}
		s.Command = exe
	}
	s.Args = append([]string(nil), s.Args...)
	helmSandbox.Store(&s)
	return nil
}

// selfExecutable is the executable of this process. On Linux
// /proc/self/exe starts the same binary even after it was replaced on disk
// (an upgrade in place), so the worker never runs another version.
func selfExecutable() (string, error) {
	if _, err := os.Stat("/proc/self/exe"); err == nil {
		return "/proc/self/exe", nil
	}
	return os.Executable()
}

// workerRequest is what the parent sends the worker: the chart's files
// (after .helmignore), how to render it and the limits.
type workerRequest struct {
	Dir       string
	Files     []workerFile
	Helm      HelmOptions
	MaxBytes  int64
	MaxMemory int64
}

type workerFile struct {
	Name string
	Data []byte
}

// workerResponse is the worker's answer: the template output, or an error
// with its kind (an index into errorKinds plus one; 0: no kind).
type workerResponse struct {
	Out  map[string]string
	Kind int
	Err  string
}

// errorKinds are the kinds an error keeps across the process boundary.
var errorKinds = []error{ErrLimit, ErrInvalid, ErrDuplicate, ErrNotFound, ErrRemote, ErrUnsupported, ErrKustomize, ErrRead, ErrHelm}

// RunHelmWorker is a Helm template worker's whole life: it reads requests
// from in until in is closed, renders each chart's templates as RenderHelm
// does in process and writes each answer to out, then returns the
// process's exit code. Between renders it returns its memory to the
// system, so each render is measured alone; when a render's memory passes
// the request's limit it exits the process at once with a code of its own.
func RunHelmWorker(in io.Reader, out io.Writer) int {
	dec := gob.NewDecoder(bufio.NewReader(in))
	bw := bufio.NewWriter(out)
	enc := gob.NewEncoder(bw)
	var limit atomic.Int64
	watching := false
	for {
		var req workerRequest
		if err := dec.Decode(&req); err != nil {
			if errors.Is(err, io.EOF) {
				return 0 // the parent closed the pool
			}
			fmt.Fprintf(os.Stderr, "helm worker: read the request: %v\n", err)
			return 2
		}
		limit.Store(req.MaxMemory)
		if !watching {
			go watchMemory(&limit)
			watching = true
		}
		res := workerTemplates(req)
		err := enc.Encode(res)
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "helm worker: write the answer: %v\n", err)
			return 2
		}
		req, res = workerRequest{}, workerResponse{}
		debug.FreeOSMemory()
	}
}

// workerTemplates loads the chart and executes its templates.
func workerTemplates(req workerRequest) workerResponse {
	buf := make([]*archiveFile, len(req.Files))
	for i, f := range req.Files {
		buf[i] = &archiveFile{Name: f.Name, Data: f.Data}
	}
	b := newBudget(Options{MaxBytes: req.MaxBytes})
	ch, top, err := prepareChart(buf, req.Dir, req.Helm)
	if err == nil {
		var out map[string]string
		if out, err = execute(context.Background(), ch, req.Dir, top, req.Helm.Timeout, b); err == nil {
			return workerResponse{Out: out}
		}
	}
	res := workerResponse{Err: err.Error()}
	var k *kindError
	if errors.As(err, &k) {
		for i, kind := range errorKinds {
			if k.kind == kind {
				res.Kind = i + 1
			}
		}
	}
	return res
}

// watchMemory exits the worker when the memory it holds from the system
// passes max. (The runtime is not told the limit with
// debug.SetMemoryLimit: near it the garbage collector runs nonstop, this
// goroutine starves, and a doubling chart reached twice the limit before
// it was seen; without, it is seen within a few percent.)
func watchMemory(limit *atomic.Int64) {
	samples := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	for range time.Tick(workerMemoryPoll) {
		metrics.Read(samples)
		max := limit.Load()
		if used := samples[0].Value.Uint64() - samples[1].Value.Uint64(); used > uint64(max) {
			fmt.Fprintf(os.Stderr, "helm worker: memory %d passed the limit %d\n", used, max)
			os.Exit(workerExitMemory)
		}
	}
}

// executeTemplates runs the chart's templates: in a worker process when
// the sandbox is enabled, otherwise in this process.
func executeTemplates(ctx context.Context, buf []*archiveFile, ch *chart.Chart, dir string, top common.Values, h HelmOptions, b *budget) (map[string]string, error) {
	sb := b.opt.helmSandbox
	if sb == nil {
		sb = helmSandbox.Load()
	}
	if sb == nil || sb.Command == "" {
		return execute(ctx, ch, dir, top, h.Timeout, b)
	}
	req := workerRequest{Dir: dir, Helm: h, MaxBytes: b.opt.MaxBytes, MaxMemory: b.opt.MaxTemplateMemory}
	// The post-render runs here, over the worker's output (and holds a
	// tree, which is not sent). A new HelmOptions field that gob cannot
	// send fails every sandboxed render of the package's tests.
	req.Helm.PostRender = nil
	for _, f := range buf {
		req.Files = append(req.Files, workerFile{Name: f.Name, Data: f.Data})
	}
	return runWorker(ctx, *sb, req)
}

// runWorker renders in a worker of the pool: it sends the request and
// reads the answer. The worker (its whole process group) is killed when
// the timeout passes, when its answer passes the byte limit, or when ctx
// ends; a worker that answered goes back to the pool for the next render.
func runWorker(ctx context.Context, sb HelmSandbox, req workerRequest) (map[string]string, error) {
	timeout := req.Helm.Timeout
	if timeout <= 0 {
		timeout = DefaultHelmTimeout
	}
	w, err := takeWorker(sb)
	if err != nil {
		return nil, err
	}
	out, reusable, err := w.render(ctx, req, timeout)
	if reusable {
		returnWorker(w)
	} else {
		w.discard()
	}
	return out, err
}

// maxIdleWorkers is how many workers wait in the pool between renders.
const maxIdleWorkers = 2

// pool holds the idle workers.
var pool struct {
	mu   sync.Mutex
	idle []*helmWorker
}

// helmWorker is one worker process and its pipes.
type helmWorker struct {
	sb     HelmSandbox
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *os.File
	out    *countingReader
	enc    *gob.Encoder
	dec    *gob.Decoder
	stderr *cappedBuffer
	done   chan struct{} // closed when the process was waited for
}

// countingReader fails a read past max bytes since the last reset.
type countingReader struct {
	r      io.Reader
	n, max int64
	over   atomic.Bool
}

var errAnswerTooLarge = errors.New("the helm worker's answer is too large")

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n >= c.max {
		c.over.Store(true)
		return 0, errAnswerTooLarge
	}
	if room := c.max - c.n; int64(len(p)) > room {
		p = p[:room]
	}
	k, err := c.r.Read(p)
	c.n += int64(k)
	return k, err
}

func sameSandbox(a, b HelmSandbox) bool {
	return a.Command == b.Command && slices.Equal(a.Args, b.Args)
}

// takeWorker returns an idle worker of the sandbox, or starts one.
func takeWorker(sb HelmSandbox) (*helmWorker, error) {
	for {
		w := popIdle(sb)
		if w == nil {
			return startWorker(sb)
		}
		select {
		case <-w.done: // it died while idle
			w.discard()
		default:
			return w, nil
		}
	}
}

// popIdle takes an idle worker of the sandbox out of the pool, or nil.
func popIdle(sb HelmSandbox) *helmWorker {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	for i := len(pool.idle) - 1; i >= 0; i-- {
		if w := pool.idle[i]; sameSandbox(w.sb, sb) {
			pool.idle = slices.Delete(pool.idle, i, i+1)
			return w
		}
	}
	return nil
}

// returnWorker puts a worker back in the pool, or ends it when the pool
// is full.
func returnWorker(w *helmWorker) {
	pool.mu.Lock()
	if len(pool.idle) < maxIdleWorkers {
		pool.idle = append(pool.idle, w)
		pool.mu.Unlock()
		return
	}
	pool.mu.Unlock()
	w.discard()
}

// CloseHelmWorkers ends the idle workers of the pool (trueup serve calls
// it when it stops). Renders still running end their own.
func CloseHelmWorkers() {
	pool.mu.Lock()
	idle := pool.idle
	pool.idle = nil
	pool.mu.Unlock()
	for _, w := range idle {
		w.discard()
	}
}

func startWorker(sb HelmSandbox) (*helmWorker, error) {
	r, wr, err := os.Pipe()
	if err != nil {
		return nil, errorf(ErrHelm, "templates: start the helm worker %s: %v", workerName(sb), err)
	}
	w := &helmWorker{sb: sb, stdout: r, stderr: &cappedBuffer{max: workerStderr}, done: make(chan struct{})}
	w.cmd = exec.Command(sb.Command, sb.Args...)
	w.cmd.Env = workerEnviron()
	w.cmd.Stdout, w.cmd.Stderr = wr, w.stderr
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if w.stdin, err = w.cmd.StdinPipe(); err == nil {
		err = w.cmd.Start()
	}
	wr.Close() // the worker holds its end
	if err != nil {
		r.Close()
		return nil, errorf(ErrHelm, "templates: start the helm worker %s: %v", workerName(sb), err)
	}
	w.out = &countingReader{r: r}
	w.enc, w.dec = gob.NewEncoder(w.stdin), gob.NewDecoder(w.out)
	go func() {
		_ = w.cmd.Wait()
		close(w.done)
	}()
	return w, nil
}

// kill ends the worker's process group and waits for the worker.
func (w *helmWorker) kill() {
	_ = syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
	<-w.done
}

// discard ends the worker: its input closed (it exits), killed if it does
// not within a second.
func (w *helmWorker) discard() {
	_ = w.stdin.Close()
	select {
	case <-w.done:
	case <-time.After(time.Second):
		w.kill()
	}
	_ = w.stdout.Close()
}

// render sends one request and reads its answer; reusable says the worker
// rendered the chart and may render the next.
func (w *helmWorker) render(ctx context.Context, req workerRequest, timeout time.Duration) (map[string]string, bool, error) {
	w.out.n, w.out.max = 0, req.MaxBytes+workerOverhead
	w.out.over.Store(false)
	type result struct {
		res workerResponse
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// A worker that exits at once may not read the request: its
		// answer (or its exit) still says what happened.
		_ = w.enc.Encode(req)
		var res workerResponse
		err := w.dec.Decode(&res)
		ch <- result{res, err}
	}()
	timer := time.NewTimer(timeout + workerGrace)
	defer timer.Stop()
	var r result
	select {
	case r = <-ch:
	case <-timer.C:
		w.kill()
		<-ch
		return nil, false, errorf(ErrLimit, "templates did not finish within %s (a template recursion or an output bomb): fix the chart", timeout)
	case <-ctx.Done():
		w.kill()
		<-ch
		return nil, false, fmt.Errorf("templates: %w", ctx.Err())
	}
	if r.err != nil {
		return nil, false, w.failed(r.err, req)
	}
	if r.res.Err != "" {
		// Not reused: a render the worker timed out itself still runs
		// in it (Helm's engine cannot be stopped).
		if r.res.Kind > 0 && r.res.Kind <= len(errorKinds) {
			return nil, false, &kindError{kind: errorKinds[r.res.Kind-1], msg: r.res.Err}
		}
		return nil, false, errorf(ErrHelm, "%s", r.res.Err)
	}
	return r.res.Out, true, nil
}

// failed says why a worker gave no answer: too much output, its exit (the
// memory limit, a signal, a crash) or an answer that is not one.
func (w *helmWorker) failed(readErr error, req workerRequest) error {
	drained := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, w.out) // what follows, to its end or the cap
		close(drained)
	}()
	select {
	case <-drained:
	case <-time.After(time.Second):
	}
	if w.out.over.Load() {
		w.kill()
		return errorf(ErrLimit, "templates produced more than %d bytes (an output bomb): fix the chart", req.MaxBytes)
	}
	select {
	case <-w.done:
	case <-time.After(time.Second):
		w.kill()
		return errorf(ErrHelm, "templates: read the answer of the helm worker %s: %v: is it trueup's worker?", workerName(w.sb), readErr)
	}
	ps := w.cmd.ProcessState
	switch {
	case ps.ExitCode() == workerExitMemory:
		return errorf(ErrLimit, "templates used more than %s of memory (a template recursion or an output bomb): fix the chart", byteSize(req.MaxMemory))
	case killed(ps):
		return errorf(ErrHelm, "templates: the helm worker %s was killed (%v): the system may be out of memory: give trueup more "+
			"memory or lower render limits", workerName(w.sb), ps)
	case ps.ExitCode() != 0:
		return errorf(ErrHelm, "templates: the helm worker %s failed (%v)%s: this is a trueup bug, please report it", workerName(w.sb), ps, w.stderr.firstLine())
	}
	return errorf(ErrHelm, "templates: read the answer of the helm worker %s: %v: is it trueup's worker?", workerName(w.sb), readErr)
}

// killed reports whether a signal from outside ended the worker (the
// kernel's out-of-memory killer, an operator).
func killed(ps *os.ProcessState) bool {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled()
}

// workerName names the worker's command in errors.
func workerName(sb HelmSandbox) string {
	if sb.Command == "/proc/self/exe" {
		return "(this executable)"
	}
	return sb.Command
}

// workerEnviron is the worker's environment: the marker and the Go
// runtime's settings (GOMAXPROCS, GODEBUG, ...), nothing of the daemon's
// credentials (templates cannot read the environment, and need not).
func workerEnviron() []string {
	env := []string{helmWorkerEnv + "=1"}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GO") && !strings.HasPrefix(kv, helmWorkerEnv+"=") {
			env = append(env, kv)
		}
	}
	return env
}

// cappedBuffer keeps the first max bytes written to it; a write beyond
// them fails and calls full.
type cappedBuffer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	max  int64
	over bool
	full func()
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.max - int64(c.buf.Len()); int64(len(p)) > room {
		c.buf.Write(p[:max(room, 0)])
		if c.full == nil {
			return len(p), nil // stderr: keep the start, drop the rest
		}
		c.over = true
		c.full()
		return 0, errors.New("the helm worker's answer is too large")
	}
	return c.buf.Write(p)
}

func (c *cappedBuffer) overflow() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.over
}

// firstLine is ": " and the first line of what the buffer holds, or "".
func (c *cappedBuffer) firstLine() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	line, _, _ := strings.Cut(strings.TrimSpace(c.buf.String()), "\n")
	if line == "" {
		return ""
	}
	return ": " + line
}

// byteSize formats a byte count in the largest binary unit that divides it.
func byteSize(n int64) string {
	for _, u := range []struct {
		name string
		size int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return fmt.Sprintf("%d %s", n/u.size, u.name)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}
