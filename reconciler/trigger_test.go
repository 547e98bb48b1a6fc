package reconciler

import (
	"slices"
	"testing"

	"github.com/trueup-dev/trueup/reconciler/config"
)

func TestRepoKey(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"https://Git.example.com/org/app.git", "git.example.com/org/app"},
		{"https://token:secret@git.example.com:3000/org/app/", "git.example.com/org/app"},
		{"git@git.example.com:org/app.git", "git.example.com/org/app"},
		{"ssh://git@git.example.com/org/app", "git.example.com/org/app"},
		{"file:///srv/git/app.git", "/srv/git/app"},
		{"/srv/git/app.git", "/srv/git/app"},
	} {
		if got := repoKey(tt.in); got != tt.want {
			t.Errorf("repoKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTriggerPush(t *testing.T) {
	cfg := &config.Config{
		Sources: []config.Source{
			{Name: "app", URL: "https://git.example.com/org/app.git", Ref: config.GitRef{Branch: "main"}},
			{Name: "app-release", URL: "https://git.example.com/org/app.git", Ref: config.GitRef{SemVer: "^1"}},
			{Name: "other", URL: "https://git.example.com/org/other.git"},
		},
		Targets: []config.Target{
			{Name: "web", Source: "app", Account: "a"}, {Name: "web-prod", Source: "app-release", Account: "a"},
			{Name: "infra", Source: "other", Account: "a"}, {Name: "paused", Source: "app", Account: "a", Suspend: true},
		},
	}
	r, err := New(cfg, nil, nil, WithAccounts(map[string]*AccountDestination{"a": {}}))
	if err != nil {
		t.Fatal(err)
	}
	urls := []string{"http://127.0.0.1:3000/org/app.git", "git@git.example.com:org/app.git"}
	if got := r.TriggerPush(urls, "refs/heads/main"); !slices.Equal(got, []string{"web", "web-prod"}) {
		t.Errorf("push to main woke %v, want web and web-prod", got)
	}
	if got := r.TriggerPush(urls, "refs/heads/feature"); !slices.Equal(got, []string{"web-prod"}) {
		t.Errorf("push to a feature branch woke %v, want only the semver target", got)
	}
	if got := r.TriggerPush([]string{"https://git.example.com/org/unknown"}, "refs/heads/main"); len(got) != 0 {
		t.Errorf("push to an unknown repo woke %v", got)
	}
	st := r.targetState("web")
	select {
	case tr := <-st.kick:
		if tr != TriggerWebhook {
			t.Errorf("trigger %s, want webhook", tr)
		}
	default:
		t.Error("web was not woken")
	}
}
