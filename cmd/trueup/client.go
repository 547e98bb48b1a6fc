package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/trueup-dev/trueup/reconciler/config"
)

// The verbs that talk to a running daemon (get, reconcile, suspend,
// resume, accept) find it, and the user's token, from (first wins):
//
//	--server, --token                 flags
//	$TRUEUP_SERVER, $TRUEUP_TOKEN     environment
//	a context of the contexts file    --context, else its current-context
//	http://127.0.0.1:8080             trueup serve's default listener
//
// The contexts file is $TRUEUP_CONTEXTS, else ~/.config/trueup/contexts.yaml:
//
//	current-context: prod
//	contexts:
//	  - name: prod
//	    server: https://trueup.example.com
//	    tokenFile: ~/.config/trueup/prod.token   # or token: ...
//	    certificate-authority: /etc/ssl/trueup-ca.pem

// clientOptions are the flags of the daemon verbs.
type clientOptions struct {
	server, token, context string
	// timeout bounds each request to the daemon (--request-timeout).
	timeout time.Duration
}

// defaultRequestTimeout bounds a request to the daemon unless
// --request-timeout says otherwise; a daemon that accepts the connection
// and never answers does not hang the CLI.
const defaultRequestTimeout = 30 * time.Second

func (co *clientOptions) addFlags(cmd *cobra.Command) {
	fl := cmd.PersistentFlags()
	fl.StringVar(&co.server, "server", "", "the daemon's address, e.g. https://trueup.example.com (env TRUEUP_SERVER; default: the context's, else "+"http://"+config.DefaultListen+")")
	fl.StringVar(&co.token, "token", "", "bearer token for the daemon (env TRUEUP_TOKEN; default: the context's)")
	fl.StringVar(&co.context, "context", "", "context of the contexts file ($TRUEUP_CONTEXTS, else ~/.config/trueup/contexts.yaml) to use instead of its current-context")
	fl.DurationVar(&co.timeout, "request-timeout", defaultRequestTimeout, "how long to wait for each answer of the daemon (reconcile --wait waits at least as long as the daemon may: "+maxActionWait.String()+")")
}

// contextsFile is the kubeconfig-style file of daemon contexts.
type contextsFile struct {
	CurrentContext string          `json:"current-context"`
	Contexts       []daemonContext `json:"contexts"`
}

type daemonContext struct {
	Name                 string `json:"name"`
	Server               string `json:"server"`
	Token                string `json:"token,omitempty"`
	TokenFile            string `json:"tokenFile,omitempty"`
	CertificateAuthority string `json:"certificate-authority,omitempty"`
}

// contextsPath is where the contexts file is.
func contextsPath() string {
	if p := os.Getenv("TRUEUP_CONTEXTS"); p != "" {
		return p
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "trueup", "contexts.yaml")
}

// loadContext returns the context named (the current one when ""), nil
// when there is no contexts file and none was named.
func loadContext(name string) (*daemonContext, error) {
	path := contextsPath()
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && name == "" {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("contexts file %s: %w (set $TRUEUP_CONTEXTS, or pass --server and --token)", path, err)
	}
	var f contextsFile
	if err := yaml.UnmarshalStrict(raw, &f); err != nil {
		return nil, fmt.Errorf("contexts file %s: %w", path, err)
	}
	if name == "" {
		name = f.CurrentContext
	}
	if name == "" {
		return nil, nil
	}
	var names []string
	for i, c := range f.Contexts {
		if c.Name == name {
			return &f.Contexts[i], nil
		}
		names = append(names, c.Name)
	}
	return nil, fmt.Errorf("contexts file %s: no context %q (it has %s)", path, name, strings.Join(names, ", "))
}

// daemonClient calls the daemon's API.
type daemonClient struct {
	server  string
	token   string
	http    *http.Client
	timeout time.Duration
}

// client builds the daemon client from the flags, environment and context.
func (co *clientOptions) client() (*daemonClient, error) {
	c := &daemonClient{server: co.server, token: co.token, timeout: co.timeout}
	if c.timeout <= 0 {
		c.timeout = defaultRequestTimeout
	}
	if c.server == "" {
		c.server = os.Getenv("TRUEUP_SERVER")
	}
	if c.token == "" {
		c.token = os.Getenv("TRUEUP_TOKEN")
	}
	ctx, err := loadContext(co.context)
	if err != nil {
		return nil, &exitCodeError{code: exitError, err: err}
	}
	var tlsConfig *tls.Config
	if ctx != nil {
		if c.server == "" {
			c.server = ctx.Server
		}
		if c.token == "" {
			if c.token, err = ctx.tokenValue(); err != nil {
				return nil, &exitCodeError{code: exitError, err: err}
			}
		}
		if tlsConfig, err = ctx.tls(); err != nil {
			return nil, &exitCodeError{code: exitError, err: err}
		}
	}
	if c.server == "" {
		c.server = "http://" + config.DefaultListen
	}
	if !strings.Contains(c.server, "://") {
		c.server = "http://" + c.server
	}
	c.server = strings.TrimRight(c.server, "/")
	if u, err := url.Parse(c.server); err != nil || u.Host == "" {
		return nil, &exitCodeError{code: exitError, err: errors.New("--server: not an address such as https://trueup.example.com or 127.0.0.1:8080")}
	} else if u.User != nil {
		// Every error names the server: credentials in it would be printed.
		return nil, &exitCodeError{code: exitError, err: errors.New("--server: the address carries credentials (user@ or user:password@): drop them and pass the token with --token, $TRUEUP_TOKEN or a context")}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsConfig
	c.http = &http.Client{Transport: tr}
	return c, nil
}

func (c *daemonContext) tokenValue() (string, error) {
	if c.Token != "" || c.TokenFile == "" {
		return c.Token, nil
	}
	raw, err := os.ReadFile(expandHome(c.TokenFile))
	if err != nil {
		return "", fmt.Errorf("context %s: tokenFile: %w", c.Name, err)
	}
	return strings.TrimSpace(string(raw)), nil
}

func (c *daemonContext) tls() (*tls.Config, error) {
	if c.CertificateAuthority == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(expandHome(c.CertificateAuthority))
	if err != nil {
		return nil, fmt.Errorf("context %s: certificate-authority: %w", c.Name, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("context %s: certificate-authority %s: no PEM certificate in it", c.Name, c.CertificateAuthority)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// do sends a request and decodes a 2xx JSON answer into out (when not
// nil). Other answers become errors that say what to do next.
func (c *daemonClient) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.server+path, rd)
	if err != nil {
		return &exitCodeError{code: exitError, err: fmt.Errorf("daemon %s: %w", c.server, err)}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &exitCodeError{code: exitError, err: c.connectError(err)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return &exitCodeError{code: exitError, err: fmt.Errorf("daemon %s: %s %s: read the answer: %w", c.server, method, path, err)}
	}
	if resp.StatusCode/100 != 2 {
		return &exitCodeError{code: exitError, err: c.statusError(resp.StatusCode, raw)}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &exitCodeError{code: exitError, err: fmt.Errorf("daemon %s: %s %s: not the JSON expected (is %s a trueup daemon?): %w", c.server, method, path, c.server, err)}
	}
	return nil
}

// connectError says what to check when the daemon cannot be reached.
func (c *daemonClient) connectError(err error) error {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("daemon %s: connection refused: is `trueup serve` running there? (set --server, $TRUEUP_SERVER or a context)", c.server)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("daemon %s: no answer within %s: is the daemon overloaded or the address wrong? (raise --request-timeout to wait longer)", c.server, c.timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("daemon %s: %w (check --server and, for https, the context's certificate-authority)", c.server, err)
}

// statusError turns a refusal into what to do next.
func (c *daemonClient) statusError(code int, body []byte) error {
	msg := strings.TrimSpace(string(body))
	var j struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &j) == nil && j.Error != "" {
		msg = j.Error
	}
	switch code {
	case http.StatusUnauthorized:
		how := "pass a token with --token, $TRUEUP_TOKEN or a context's token/tokenFile"
		if c.token != "" {
			how = "the token was refused (expired, or for another cluster?): get a new one"
		}
		return fmt.Errorf("daemon %s: 401 unauthorized: %s; %s (for a ServiceAccount: kubectl create token NAME -n NAMESPACE)", c.server, msg, how)
	case http.StatusForbidden:
		return fmt.Errorf("daemon %s: 403 forbidden: %s (ask an admin of trueup.yaml for that role)", c.server, strings.TrimPrefix(msg, "forbidden: "))
	}
	return fmt.Errorf("daemon %s: %d %s: %s", c.server, code, http.StatusText(code), msg)
}

// writeAs writes v as JSON or YAML (the YAML of its JSON, so field names
// are the same).
func writeAs(w io.Writer, format string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if format == "yaml" {
		if b, err = yaml.JSONToYAML(b); err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// ago formats how long ago t was, kubectl style (5s, 3m, 2h, 4d).
func ago(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
