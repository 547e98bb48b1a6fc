package git_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/trueup-dev/trueup/sources/git"
)

func TestSourceValidate(t *testing.T) {
	key := []byte("-----BEGIN OPENSSH PRIVATE KEY-----\n...\n")
	hosts := []byte("example.com ssh-ed25519 AAAA\n")
	for _, tc := range []struct {
		name    string
		src     git.Source
		wantErr string
	}{
		{name: "local path", src: git.Source{Name: "a", URL: "/srv/repo", Ref: git.RefSpec{Branch: "main"}}},
		{name: "https with token", src: git.Source{Name: "a.b_c-1", URL: "https://git.example.com/org/repo.git", Ref: git.RefSpec{Tag: "v1"}, Auth: git.Auth{BearerToken: "t"}}},
		{name: "scp-like ssh", src: git.Source{Name: "a", URL: "git@github.com:org/repo.git", Ref: git.RefSpec{SemVer: "~1.2"}, Auth: git.Auth{SSHPrivateKey: key, KnownHosts: hosts}}},
		{name: "commit", src: git.Source{Name: "a", URL: "/r", Ref: git.RefSpec{Commit: strings.Repeat("Ab", 20)}}},
		{name: "empty name", src: git.Source{URL: "/r", Ref: git.RefSpec{Branch: "main"}}, wantErr: "name must match"},
		{name: "name with slash", src: git.Source{Name: "a/b", URL: "/r", Ref: git.RefSpec{Branch: "main"}}, wantErr: "name must match"},
		{name: "name dot dot", src: git.Source{Name: "..", URL: "/r", Ref: git.RefSpec{Branch: "main"}}, wantErr: "name must match"},
		{name: "empty url", src: git.Source{Name: "a", Ref: git.RefSpec{Branch: "main"}}, wantErr: "url is empty"},
		{name: "unsupported scheme", src: git.Source{Name: "a", URL: "git://example.com/r", Ref: git.RefSpec{Branch: "main"}}, wantErr: `scheme "git"`},
		{name: "no ref", src: git.Source{Name: "a", URL: "/r"}, wantErr: "exactly one"},
		{name: "two refs", src: git.Source{Name: "a", URL: "/r", Ref: git.RefSpec{Branch: "main", Tag: "v1"}}, wantErr: "exactly one"},
		{name: "bad branch", src: git.Source{Name: "a", URL: "/r", Ref: git.RefSpec{Branch: "a..b"}}, wantErr: "invalid branch"},
		{name: "bad semver", src: git.Source{Name: "a", URL: "/r", Ref: git.RefSpec{SemVer: ">>1"}}, wantErr: "semver"},
		{name: "short commit", src: git.Source{Name: "a", URL: "/r", Ref: git.RefSpec{Commit: "abc123"}}, wantErr: "full 40-character"},
		{name: "ssh without known hosts", src: git.Source{Name: "a", URL: "ssh://git@h/r", Ref: git.RefSpec{Branch: "main"}, Auth: git.Auth{SSHPrivateKey: key}}, wantErr: "known hosts"},
		{name: "ssh without key", src: git.Source{Name: "a", URL: "ssh://git@h/r", Ref: git.RefSpec{Branch: "main"}, Auth: git.Auth{InsecureIgnoreHostKey: true}}, wantErr: "private key"},
		{name: "ssh key for https", src: git.Source{Name: "a", URL: "https://h/r", Ref: git.RefSpec{Branch: "main"}, Auth: git.Auth{SSHPrivateKey: key}}, wantErr: "ssh credentials"},
		{name: "password for ssh", src: git.Source{Name: "a", URL: "ssh://git@h/r", Ref: git.RefSpec{Branch: "main"}, Auth: git.Auth{Password: "p", SSHPrivateKey: key, KnownHosts: hosts}}, wantErr: "http credentials"},
		{name: "token and password", src: git.Source{Name: "a", URL: "https://h/r", Ref: git.RefSpec{Branch: "main"}, Auth: git.Auth{BearerToken: "t", Password: "p"}}, wantErr: "not both"},
		{name: "credentials for a local path", src: git.Source{Name: "a", URL: "/r", Ref: git.RefSpec{Branch: "main"}, Auth: git.Auth{Password: "p"}}, wantErr: "local repository"},
		{name: "file url with host", src: git.Source{Name: "a", URL: "file://host/r", Ref: git.RefSpec{Branch: "main"}}, wantErr: "host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.src.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantErr(t, err, git.ErrInvalidSource, false)
			if !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "source ") {
				t.Fatalf("error %q, want source prefix and %q", err, tc.wantErr)
			}
		})
	}
}

func TestSecretsAreNotPrinted(t *testing.T) {
	const pass, token, phrase = "hunter2-pass", "tok-secret-9", "phrase-secret"
	src := git.Source{
		Name: "s",
		URL:  "https://bob:" + pass + "@git.example.com/r.git",
		Ref:  git.RefSpec{Branch: "main"},
		Auth: git.Auth{Username: "bob", Password: pass, BearerToken: token, SSHPrivateKey: []byte("PRIVATE-KEY-BYTES"), SSHPassphrase: phrase},
	}
	for _, s := range []string{
		fmt.Sprint(src), fmt.Sprintf("%v", src), fmt.Sprintf("%+v", src), fmt.Sprintf("%#v", src), fmt.Sprintf("%s", src),
		fmt.Sprint(src.Auth), fmt.Sprintf("%+v", src.Auth), fmt.Sprintf("%#v", src.Auth),
		fmt.Sprintf("%+v", &src), fmt.Sprintf("%v", []git.Source{src}),
	} {
		wantNotContains(t, s, pass, token, phrase, "PRIVATE-KEY-BYTES")
	}
	if got := src.String(); got != `source "s" (https://git.example.com/r.git, branch main)` {
		t.Fatalf("String() = %q", got)
	}
	// Validation errors for a URL with a password do not echo the URL.
	bad := git.Source{Name: "s", URL: "https://bob:" + pass + "@exa mple.com/%zz", Ref: git.RefSpec{Branch: "main"}}
	err := bad.Validate()
	if err == nil {
		t.Fatal("invalid url accepted")
	}
	wantNotContains(t, err.Error(), pass)
}
