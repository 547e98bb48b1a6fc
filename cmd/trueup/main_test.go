package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// trueup runs the CLI in-process and returns its output and exit code.
func trueup(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, streams{in: strings.NewReader(""), out: &out, err: &errOut})
	return out.String(), errOut.String(), code
}
