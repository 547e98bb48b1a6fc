package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/trueup-dev/trueup/notifications"
	logn "github.com/trueup-dev/trueup/notifications/log"
	"github.com/trueup-dev/trueup/notifications/slack"
	"github.com/trueup-dev/trueup/notifications/webhook"
	"github.com/trueup-dev/trueup/reconciler/config"
)

// defaultNotifier is the log notifier that receives what no route sends
// elsewhere (a configured notifier of this name takes its place).
const defaultNotifier = "log"

// newNotifier builds the configured notifier at index i, reading the
// secrets it references. Errors name the field path, never a value.
func newNotifier(cfg *config.Config, i int, log *slog.Logger) (notifications.Notifier, error) {
	n := cfg.Notifiers[i]
	path := fmt.Sprintf("notifiers[%d]", i)
	switch n.Type {
	case "slack":
		opts := []slack.Option{slack.WithChannel(n.Slack.Channel), slack.WithRepeatInterval(n.Slack.RepeatInterval.Duration),
			slack.WithPublicURL(cfg.Server.PublicURL)}
		if n.Slack.TokenFrom != nil {
			token, err := n.Slack.TokenFrom.Resolve()
			if err != nil {
				return nil, fmt.Errorf("%s.slack.tokenFrom: %w", path, err)
			}
			if n.Slack.APIURL != "" {
				opts = append(opts, slack.WithAPIURL(n.Slack.APIURL))
			}
			return slack.NewBot(n.Name, token.Reveal(), opts...)
		}
		url, err := n.Slack.WebhookURLFrom.Resolve()
		if err != nil {
			return nil, fmt.Errorf("%s.slack.webhookURLFrom: %w", path, err)
		}
		return slack.NewWebhook(n.Name, url.Reveal(), opts...)
	case "webhook":
		secret, err := n.Webhook.SecretFrom.Resolve()
		if err != nil {
			return nil, fmt.Errorf("%s.webhook.secretFrom: %w", path, err)
		}
		return webhook.New(n.Name, n.Webhook.URL, []byte(secret.Reveal()))
	}
	return logn.New(n.Name, log), nil
}

// newNotifiers builds every configured notifier, plus the default log
// notifier when none has its name, and the router over them.
func newNotifiers(cfg *config.Config, log *slog.Logger) ([]notifications.Notifier, notifications.Router, error) {
	var out []notifications.Notifier
	for i := range cfg.Notifiers {
		n, err := newNotifier(cfg, i, log)
		if err != nil {
			return nil, notifications.Router{}, &exitCodeError{code: exitError, err: err}
		}
		out = append(out, n)
	}
	if !slices.ContainsFunc(out, func(n notifications.Notifier) bool { return n.Name() == defaultNotifier }) {
		out = append(out, logn.New(defaultNotifier, log))
	}
	return out, routerFor(cfg), nil
}

// routerFor converts the config's routes and the targets' notifier lists.
// Validation already checked every name, kind and severity.
func routerFor(cfg *config.Config) notifications.Router {
	r := notifications.Router{TargetNotifiers: map[string][]string{}, Default: []string{defaultNotifier}}
	for _, route := range cfg.Routes {
		rule := notifications.Rule{Targets: route.Targets, Labels: route.Labels, Notifiers: route.Notifiers}
		rule.MinSeverity, _ = notifications.ParseSeverity(route.Severity)
		for _, ev := range route.Events {
			rule.Kinds = append(rule.Kinds, notifications.Kind(ev))
		}
		r.Rules = append(r.Rules, rule)
	}
	for _, t := range cfg.Targets {
		if len(t.Notifiers) > 0 {
			r.TargetNotifiers[t.Name] = t.Notifiers
		}
	}
	return r
}

func newNotifyCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "notify",
		Short: "Work with the configured notifiers",
	}
	cmd.AddCommand(newNotifyTestCommand(opts))
	return cmd
}

func newNotifyTestCommand(opts *globalOptions) *cobra.Command {
	var (
		output  string
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "test NOTIFIER",
		Short: "Send a test message through a notifier and print what it answered",
		Example: `  trueup notify test oncall
  trueup notify test audit-hook -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := outputFormat(output, "text", "json", "yaml"); err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			return notifyTest(ctx, cmd, opts, args[0], output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text, json or yaml")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "give up after this long")
	return cmd
}

// notifyResult is what `notify test -o json` prints.
type notifyResult struct {
	Notifier string                 `json:"notifier"`
	OK       bool                   `json:"ok"`
	Receipt  *notifications.Receipt `json:"receipt,omitempty"`
	Error    string                 `json:"error,omitempty"`
}

func notifyTest(ctx context.Context, cmd *cobra.Command, opts *globalOptions, name, output string) error {
	cfg, err := loadConfig(opts)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(cfg.Notifiers, func(n config.Notifier) bool { return n.Name == name })
	if i < 0 {
		var names []string
		for _, n := range cfg.Notifiers {
			names = append(names, n.Name)
		}
		return &exitCodeError{code: exitError, err: fmt.Errorf("no notifier %q in %s: the config has %v", name, opts.configPath, names)}
	}
	log := slog.New(slog.NewTextHandler(cmd.OutOrStdout(), nil))
	n, err := newNotifier(cfg, i, log)
	if err != nil {
		return &exitCodeError{code: exitError, err: err}
	}
	res := notifyResult{Notifier: name}
	if t, ok := n.(notifications.Tester); ok {
		rc, err := t.Test(ctx)
		res.OK, res.Receipt = err == nil, &rc
		if err != nil {
			res.Receipt, res.Error = nil, err.Error()
		}
	} else {
		_, err := n.Send(ctx, notifications.Message{Op: notifications.OpPost, Event: notifications.TestEvent(time.Now())})
		res.OK = err == nil
		if err != nil {
			res.Error = err.Error()
		}
	}
	printNotifyResult(cmd, opts, res, output)
	if !res.OK {
		return &exitCodeError{code: exitFailed}
	}
	return nil
}

func printNotifyResult(cmd *cobra.Command, opts *globalOptions, res notifyResult, output string) {
	w := cmd.OutOrStdout()
	if output != "text" {
		_ = writeAs(w, output, res)
		return
	}
	if !res.OK {
		fmt.Fprintf(w, "%s %s: %s\n", opts.paint(w, red, "✖"), res.Notifier, res.Error)
		fmt.Fprintf(w, "Check the notifier's credentials and channel in %s, then run 'trueup notify test %s' again.\n", opts.configPath, res.Notifier)
		return
	}
	fmt.Fprintf(w, "%s %s: sent", opts.paint(w, green, "✔"), res.Notifier)
	if r := res.Receipt; r != nil {
		if r.Channel != "" {
			fmt.Fprintf(w, " to channel %s, message ts %s", r.Channel, r.TS)
		}
		if r.Detail != "" {
			fmt.Fprintf(w, " (%s)", r.Detail)
		}
	}
	fmt.Fprintln(w)
}
