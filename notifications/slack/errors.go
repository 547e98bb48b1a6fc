package slack

import (
	"errors"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/trueup-dev/trueup/notifications"
)

// retryableCodes are Slack error codes that a later attempt may not get.
// Every other error code (invalid_auth, channel_not_found, not_in_channel,
// token_revoked, account_inactive, invalid_blocks, msg_too_long, ...) is
// permanent: the same request will fail the same way.
var retryableCodes = map[string]bool{
	"ratelimited":         true,
	"rate_limited":        true,
	"internal_error":      true,
	"fatal_error":         true,
	"service_unavailable": true,
	"request_timeout":     true,
}

// classify maps slack-go errors onto the notifications error model:
// *slack.RateLimitedError (HTTP 429) becomes a RetryAfter error; a Slack
// error code is permanent unless listed in retryableCodes; an HTTP status
// is permanent for 4xx other than 429; anything else (network, timeout,
// 5xx) stays retryable.
func classify(err error) error {
	if rl, ok := errors.AsType[*slack.RateLimitedError](err); ok {
		return notifications.RetryAfter(rl.RetryAfter, err)
	}
	if se, ok := errors.AsType[slack.SlackErrorResponse](err); ok {
		if retryableCodes[se.Err] {
			return err
		}
		return notifications.Permanent(se.Err, err)
	}
	if sc, ok := errors.AsType[slack.StatusCodeError](err); ok && !sc.Retryable() {
		return notifications.Permanent(fmt.Sprintf("http %d", sc.Code), err)
	}
	return err
}
