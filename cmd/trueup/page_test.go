package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/trueup-dev/trueup/drift"
	"github.com/trueup-dev/trueup/reconciler/state"
)

// TestValueOrderIsGitThenLiveInCLIAndPage: diff's text and JSON and the
// target page show a drifted field's values the same way: Git's first,
// then live, each labelled.
func TestValueOrderIsGitThenLiveInCLIAndPage(t *testing.T) {
	field := drift.FieldDiff{Path: "/spec/replicas", Desired: 1, Live: 3}
	ref := drift.ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "web", Name: "web"}
	res := diffResult{Target: "web", Cluster: "prod", Report: &drift.Report{Target: "web",
		Objects: []drift.ObjectReport{{Ref: ref, Status: drift.Drifted, Fields: []drift.FieldDiff{field}}}}}

	var text bytes.Buffer
	printDiff(&text, &globalOptions{noColor: true}, res)
	if want := "/spec/replicas: git: 1  live: 3"; !strings.Contains(text.String(), want) {
		t.Errorf("diff text lacks %q:\n%s", want, text.String())
	}

	raw, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"path":"/spec/replicas","git":1,"live":3}`; !strings.Contains(string(raw), want) {
		t.Errorf("diff -o json lacks %s:\n%s", want, raw)
	}

	var page bytes.Buffer
	err = targetPage.ExecuteTemplate(&page, "layout.html", targetPageData{Name: "web", Episodes: []state.Episode{{ID: "web/1", Target: "web", Object: ref.String(), Opened: time.Unix(0, 0),
		Fields: []drift.FieldDiff{field}, Status: state.EpisodeOpen}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<th scope="col">Git</th><th scope="col">live</th>`,
		`<th scope="row"><code>/spec/replicas</code></th><td class="git"><code>1</code></td><td class="live"><code>3</code></td>`} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("page lacks %q:\n%s", want, page.String())
		}
	}
}
