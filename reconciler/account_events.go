package reconciler

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trueup-dev/trueup/drift"
	driftaws "github.com/trueup-dev/trueup/drift/aws"
	"github.com/trueup-dev/trueup/drift/aws/cloudtrail"
)

// TriggerCloudEvent is a reconcile woken by a CloudTrail event that names
// one of the target's resources (or, for the unmanaged report, a resource
// no target declares).
const TriggerCloudEvent Trigger = "cloud-event"

// EventQueue is where an account's CloudTrail events arrive
// (*cloudtrail.Queue: SQS with long polling).
type EventQueue interface {
	Receive(ctx context.Context) ([]cloudtrail.Message, error)
	Delete(ctx context.Context, m cloudtrail.Message) error
}

var _ EventQueue = (*cloudtrail.Queue)(nil)

// AccountEvents is an account's event queue and the store that attributes
// its drift: the same Store must be the ActorResolver of every client of
// the account (AccountDestination.Account and Roles). Queue is nil for an
// account that only has CloudTrail lookups: comparisons still tell the
// store what they found in sync.
type AccountEvents struct {
	Queue  EventQueue
	Actors *cloudtrail.Store
	// RetryMin and RetryMax bound the jittered backoff between receives
	// while the queue fails (defaults 1s and 1m).
	RetryMin, RetryMax time.Duration
}

// settle tells the actor store which resources a comparison that began at
// `at` found in sync, so an event before it names no later drift.
func (e *AccountEvents) settle(rep drift.Report, at time.Time) {
	if e == nil || e.Actors == nil {
		return
	}
	for _, o := range rep.Objects {
		if o.Status == drift.InSync {
			e.Actors.Settled(o.Ref.Kind, o.Ref.Name, at)
		}
	}
}

// Results of an event, as counted by trueup_cloud_events_total.
const (
	eventWoke         = "woke"
	eventUnmanaged    = "unmanaged"
	eventDuplicate    = "duplicate"
	eventNoResource   = "no-resource"
	eventNotDeclared  = "not-declared"
	eventOtherAccount = "other-account"
	eventMalformed    = "malformed"
)

// EventMetrics count the events of account queues and tell whether each
// queue answers.
type EventMetrics struct {
	events *prometheus.CounterVec
	up     *prometheus.GaugeVec
}

// WithEventMetrics counts account events (NewEventMetrics).
func WithEventMetrics(m *EventMetrics) Option { return func(r *Reconciler) { r.eventMetrics = m } }

// NewEventMetrics registers the event metrics on reg.
func NewEventMetrics(reg prometheus.Registerer) *EventMetrics {
	m := &EventMetrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trueup_cloud_events_total",
			Help: "CloudTrail events read from account queues, by account and result (woke, unmanaged, duplicate, no-resource, not-declared, other-account, malformed).",
		}, []string{"account", "result"}),
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "trueup_cloud_event_queue_up",
			Help: "1 while the account's event queue answers; 0 while it fails and the account's targets are compared only at their interval.",
		}, []string{"account"}),
	}
	reg.MustRegister(m.events, m.up)
	return m
}

func (m *EventMetrics) count(account, result string) {
	if m != nil {
		m.events.WithLabelValues(account, result).Inc()
	}
}

func (m *EventMetrics) setUp(account string, up bool) {
	if m != nil {
		m.up.WithLabelValues(account).Set(map[bool]float64{true: 1}[up])
	}
}

// startAccountEvents reads the event queue of every account that has one
// until ctx ends. With targets shared between replicas it reads none: a
// replica would take events of targets another one runs, so those
// accounts are compared at their interval.
func (r *Reconciler) startAccountEvents(ctx context.Context, wg *sync.WaitGroup) {
	for name, a := range r.accounts {
		if a == nil || a.Events == nil || a.Events.Queue == nil {
			continue
		}
		if r.own != nil {
			r.log.Warn("account events are not read when targets are shared between replicas; the account is compared at its targets' interval", "account", name)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.readAccountEvents(ctx, name, a)
		}()
	}
}

// readAccountEvents is one account's event loop. While the queue fails it
// says so once and retries with backoff; the account's targets are still
// compared at their interval, so drift is found, later.
func (r *Reconciler) readAccountEvents(ctx context.Context, account string, a *AccountDestination) {
	ev := a.Events
	lo, hi := cmpOr(ev.RetryMin, time.Second), cmpOr(ev.RetryMax, time.Minute)
	log := r.log.With("account", account)
	failures := 0
	for ctx.Err() == nil {
		msgs, err := ev.Queue.Receive(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if failures == 0 {
				log.Warn("event queue unreachable; the account's targets are compared at their interval until it answers", "error", err.Error())
				r.eventMetrics.setUp(account, false)
			}
			failures++
			wait := min(hi, lo<<min(failures-1, 16))
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait/2 + time.Duration(rand.Int64N(int64(wait/2)+1))):
			}
			continue
		}
		if failures > 0 {
			log.Info("event queue answers again", "failedReceives", failures)
			failures = 0
		}
		r.eventMetrics.setUp(account, true)
		for _, m := range msgs {
			r.handleAccountEvent(ctx, log, account, a, m)
		}
	}
}

// cmpOr is d, or def when d is not positive.
func cmpOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// handleAccountEvent reads one message, wakes what it names and deletes
// it. A malformed body or an event of another account is logged (never
// its body) and deleted; it wakes and attributes nothing. A message whose
// deletion fails comes back, and changes nothing the second time.
func (r *Reconciler) handleAccountEvent(ctx context.Context, log *slog.Logger, account string, a *AccountDestination, m cloudtrail.Message) {
	result := r.accountEvent(ctx, account, a, m)
	r.eventMetrics.count(account, result.what)
	switch result.what {
	case eventMalformed:
		log.Warn("malformed event dropped", "messageID", m.ID, "error", result.err.Error())
	case eventOtherAccount:
		log.Warn("event of another account ignored", "messageID", m.ID, "eventAccount", result.ev.Account,
			"recipientAccountId", result.ev.RecipientAccountID, "eventSource", result.ev.EventSource, "eventName", result.ev.EventName)
	default:
		log.Debug("cloud event", "messageID", m.ID, "eventName", result.ev.EventName, "result", result.what, "woke", result.woke)
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := a.Events.Queue.Delete(dctx, m); err != nil {
		log.Warn("event not deleted; it comes back and changes nothing then", "messageID", m.ID, "error", err.Error())
	}
}

// eventResult is what one message did.
type eventResult struct {
	what string
	ev   cloudtrail.Event
	err  error
	woke []string
}

// accountEvent parses a message, records the actor of each resource it
// names (when newer than what is known) and wakes the targets that declare
// them, or a target that reports the account's unmanaged resources.
func (r *Reconciler) accountEvent(ctx context.Context, account string, a *AccountDestination, m cloudtrail.Message) eventResult {
	ev, err := cloudtrail.ParseEventBridge(m.Body)
	if err != nil {
		return eventResult{what: eventMalformed, err: err}
	}
	res := eventResult{ev: ev}
	if id := r.accountID(account); !ev.InAccount(id) {
		res.what = eventOtherAccount
		return res
	}
	resources := ev.Resources()
	if len(resources) == 0 {
		res.what = eventNoResource
		return res
	}
	fresh, declared, unmanaged := false, false, false
	for _, rs := range resources {
		if !a.Events.Actors.Record(ev.Record, rs) {
			continue // re-delivered, or older than what is known
		}
		fresh = true
		woke, forUnmanaged := r.wakeForResource(ctx, account, a, rs)
		res.woke = append(res.woke, woke...)
		declared = declared || (len(woke) > 0 && !forUnmanaged)
		unmanaged = unmanaged || forUnmanaged
	}
	switch {
	case !fresh:
		res.what = eventDuplicate
	case declared:
		res.what = eventWoke
	case unmanaged:
		res.what = eventUnmanaged
	default:
		res.what = eventNotDeclared
	}
	return res
}

// accountID is the configured id of account.
func (r *Reconciler) accountID(account string) string {
	for _, a := range r.cfg.Accounts {
		if a.Name == account {
			return a.AccountID
		}
	}
	return ""
}

// wakeForResource wakes the account's targets (run here) that declare rs,
// or whose desired state is not loaded yet. A security group known only
// by id is looked up by name; when that fails (it was deleted), every
// target declaring a security group is woken. When no target declares rs
// and the account reports unmanaged resources, one target is woken for
// that report (unmanaged true).
func (r *Reconciler) wakeForResource(ctx context.Context, account string, a *AccountDestination, rs cloudtrail.Resource) (woke []string, unmanaged bool) {
	name := rs.Name
	if name == "" && rs.ID != "" {
		lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		n, err := a.Account.SecurityGroupName(lctx, rs.ID)
		cancel()
		if err == nil {
			name = n
		}
	}
	var first string
	for _, t := range r.cfg.Targets {
		if t.Account != account || t.Suspend || !r.ownsHere(t.Name) {
			continue
		}
		if first == "" {
			first = t.Name
		}
		refs, loaded := r.lastRefs(t.Name)
		if loaded && !declares(refs, rs.Kind, name) {
			continue
		}
		if st := r.targetState(t.Name); st != nil {
			st.trigger(TriggerCloudEvent)
			woke = append(woke, t.Name)
		}
	}
	if len(woke) == 0 && a.Unmanaged != nil && first != "" {
		if st := r.targetState(first); st != nil {
			st.trigger(TriggerCloudEvent)
			return []string{first}, true
		}
	}
	return woke, false
}

// declares reports whether refs hold a resource of kind named name (any
// of the kind when name is "").
func declares(refs []drift.ObjectRef, kind, name string) bool {
	return slices.ContainsFunc(refs, func(ref drift.ObjectRef) bool {
		return ref.Group == driftaws.Group && ref.Kind == kind && (name == "" || ref.Name == name)
	})
}
