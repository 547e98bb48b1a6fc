package reconciler

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/reconciler/kube"
)

func TestWithChanged(t *testing.T) {
	failure := errors.New("boom")
	ref := func(n int) drift.ObjectRef {
		return drift.ObjectRef{Version: "v1", Kind: "ConfigMap", Namespace: "a", Name: fmt.Sprint(n)}
	}
	many := &kube.Result{}
	for i := range 12 {
		many.Entries = append(many.Entries, kube.Entry{Ref: ref(i), Action: kube.ActionCreated})
	}
	tests := []struct {
		name   string
		res    *kube.Result
		dryRun bool
		want   string
	}{
		{"refused at the first dry-run", &kube.Result{Entries: []kube.Entry{{Ref: ref(1), Action: kube.ActionSkipped}, {Ref: ref(2), Action: kube.ActionFailed}}}, false,
			"boom; nothing was changed"},
		{"a later stage failed", &kube.Result{Entries: []kube.Entry{{Ref: ref(1), Action: kube.ActionCreated}, {Ref: ref(2), Action: kube.ActionUnchanged},
			{Ref: ref(3), Action: kube.ActionConfigured}, {Ref: ref(4), Action: kube.ActionDeleted}, {Ref: ref(5), Action: kube.ActionFailed}}}, false,
			"boom; changed before the failure: ConfigMap/a/1 created, ConfigMap/a/3 configured, ConfigMap/a/4 deleted"},
		{"long lists end with a count", many, false,
			"boom; changed before the failure: ConfigMap/a/0 created, ConfigMap/a/1 created, ConfigMap/a/2 created, ConfigMap/a/3 created, ConfigMap/a/4 created, ConfigMap/a/5 created, ConfigMap/a/6 created, ConfigMap/a/7 created, ConfigMap/a/8 created, ConfigMap/a/9 created, and 2 more"},
		{"a dry-run changes nothing and says nothing more", &kube.Result{}, true, "boom"},
		{"no result", nil, false, "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := withChanged(failure, tt.res, tt.dryRun)
			if err.Error() != tt.want {
				t.Fatalf("got  %q\nwant %q", err.Error(), tt.want)
			}
			if !errors.Is(err, failure) {
				t.Fatal("the failure does not unwrap")
			}
		})
	}
	// Retryability is the failure's.
	if IsRetryable(withChanged(context.Canceled, &kube.Result{}, false)) {
		t.Error("a canceled apply became retryable")
	}
	if !IsRetryable(withChanged(context.DeadlineExceeded, &kube.Result{}, false)) {
		t.Error("a timed out apply became terminal")
	}
}
