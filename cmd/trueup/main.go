// Command trueup is the GitOps reconciler and drift detector's CLI and daemon.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/trueup-dev/trueup/sources/render"
)

func main() {
	// A Helm template worker (a child of this program, rendering one
	// chart's templates where it can be killed) does nothing else.
	if render.IsHelmWorker() {
		os.Exit(render.RunHelmWorker(os.Stdin, os.Stdout))
	}
	// controller-runtime's client warns when its logger is unset; trueup
	// logs through slog in the reconciler instead.
	ctrllog.SetLogger(logr.Discard())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], streams{in: os.Stdin, out: os.Stdout, err: os.Stderr})
	stop()
	os.Exit(code)
}
