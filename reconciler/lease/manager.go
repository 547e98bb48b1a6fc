package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Labels and annotations on the Leases.
const (
	LabelManagedBy  = "app.kubernetes.io/managed-by"
	LabelKind       = "trueup.dev/lease"
	AnnotationOwner = "trueup.dev/target"
	kindMember      = "member"
	kindTarget      = "target"
)

// Options configure a Manager.
type Options struct {
	// Namespace holds the Leases; it is created when missing.
	Namespace string
	// Identity is this replica's name in the Leases.
	Identity string
	// LeaseDuration, RenewDeadline and RetryPeriod mean what they mean in
	// client-go's leaderelection (see config.HA).
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// Logger (default: discard).
	Logger *slog.Logger
	// Metrics (default: none) are shared by the Managers of one process.
	Metrics *Metrics
}

// Manager keeps this replica's share of the targets' Leases.
type Manager struct {
	c    kubernetes.Interface
	opts Options
	log  *slog.Logger
	now  func() time.Time

	requests atomic.Int64
	// settled is set after the first round that listed the Leases.
	settled atomic.Bool
	// abandon makes Run return at ctx's end without giving anything up,
	// as a killed process would (tests).
	abandon atomic.Bool

	mu sync.Mutex
	// seen is, per Lease name, its version and when this replica first saw
	// that version (the base of expiry).
	seen map[string]observation
	// owners are the live holders of the target Leases, at the last list.
	owners  map[string]string
	members []string
	// memberRenewed is when this replica last found its membership Lease
	// renewed: the fence of every target it holds.
	memberRenewed time.Time
}

type observation struct {
	rv string
	at time.Time
}

// holding is a target Lease this replica holds.
type holding struct {
	lease   *coordinationv1.Lease
	renewed time.Time
	// release ends this replica's ownership of the target: it stops the
	// target's loop and returns once the reconcile in flight has ended.
	// lost says the Lease could not be renewed (the reconcile gets Grace).
	release func(lost bool)
	// stopped is set while the target's loop stops; closed when it has.
	stopped chan struct{}
	// lost: the Lease is gone; nothing is renewed or cleared.
	lost bool
}

// New returns a Manager over the cluster client c.
func New(c kubernetes.Interface, opts Options) (*Manager, error) {
	if opts.Identity == "" || opts.Namespace == "" {
		return nil, errors.New("lease: identity and namespace are required")
	}
	if !(opts.RetryPeriod > 0 && opts.RetryPeriod < opts.RenewDeadline && opts.RenewDeadline+opts.RetryPeriod < opts.LeaseDuration) {
		return nil, fmt.Errorf("lease: want 0 < retryPeriod %s < renewDeadline %s, and renewDeadline + retryPeriod < leaseDuration %s",
			opts.RetryPeriod, opts.RenewDeadline, opts.LeaseDuration)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Manager{c: c, opts: opts, log: log.With("replica", opts.Identity), now: time.Now,
		seen: map[string]observation{}, owners: map[string]string{}}, nil
}

// Identity is this replica's name in the Leases.
func (m *Manager) Identity() string { return m.opts.Identity }

// Grace is how long a reconcile in flight may go on after its target's
// Lease was found lost. The loss is found at most renewDeadline plus one
// retryPeriod after the last renewal, and no other replica sees the Lease
// expire before leaseDuration after it: the reconcile ends before.
func (m *Manager) Grace() time.Duration {
	return max(0, m.opts.LeaseDuration-m.opts.RenewDeadline-m.opts.RetryPeriod)
}

// Owner is the replica holding target's Lease as last seen ("" when none
// does, or it expired).
func (m *Manager) Owner(target string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.owners[target]
}

// Members are the live replicas as last seen, sorted.
func (m *Manager) Members() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.members...)
}

// Settled says whether a round has listed the Leases and acquired what
// it could: from then on, the targets this replica does not hold are
// another's (or nobody's yet), not unknown.
func (m *Manager) Settled() bool { return m.settled.Load() }

// Requests is how many API requests the Manager has made.
func (m *Manager) Requests() int64 { return m.requests.Load() }

// count counts one API request.
func (m *Manager) count() {
	m.requests.Add(1)
	m.opts.Metrics.request()
}

// Run keeps the Leases of targets until ctx ends: own is called when this
// replica acquires a target (it starts the target's loop) and the release
// function it returns when the replica gives the target up. On return every loop
// has stopped, the held Leases are cleared and the membership deleted, so
// the other replicas take the targets over at once.
func (m *Manager) Run(ctx context.Context, targets []string, own func(target string) (release func(lost bool))) error {
	m.ensureNamespace(ctx)
	held := map[string]*holding{}
	tick := time.NewTicker(m.opts.RetryPeriod)
	defer tick.Stop()
	report := time.NewTicker(time.Minute)
	defer report.Stop()
	last := m.requests.Load()
	started := m.now()
	for {
		m.step(ctx, targets, held, own)
		m.opts.Metrics.setOwned(countHeld(held))
		select {
		case <-ctx.Done():
			if m.abandon.Load() {
				return ctx.Err() // tests: a replica that dies leaves its Leases behind
			}
			up := m.now().Sub(started)
			m.log.Info("ha leases stopped", "held", countHeld(held), "requests", m.requests.Load(),
				"requestsPerMinute", int(float64(m.requests.Load())/max(up.Minutes(), 1.0/60)), "uptime", up.Round(time.Second).String())
			m.shutdown(held)
			m.opts.Metrics.setOwned(0)
			return nil
		case <-tick.C:
		case <-report.C:
			n := m.requests.Load()
			m.log.Info("ha leases", "held", countHeld(held), "members", len(m.Members()), "requestsLastMinute", n-last)
			last = n
		}
	}
}

func countHeld(held map[string]*holding) int {
	n := 0
	for _, h := range held {
		if !h.lost && h.stopped == nil {
			n++
		}
	}
	return n
}

// step is one round: list the Leases, renew the membership, then for each
// target renew, give up or acquire its Lease.
func (m *Manager) step(ctx context.Context, targets []string, held map[string]*holding, own func(string) func(bool)) {
	cctx, cancel := context.WithTimeout(ctx, m.opts.RenewDeadline)
	defer cancel()
	leases, err := m.list(cctx)
	if err != nil {
		if ctx.Err() == nil {
			m.log.Warn("ha: list leases failed; retried", "namespace", m.opts.Namespace, "error", err.Error())
		}
		leases = nil // still give up what could not be renewed in time
	}
	if leases != nil && m.renewMember(cctx, leases[memberName(m.opts.Identity)]) {
		m.memberRenewed = m.now()
	}
	members := m.observe(leases, targets)
	fenced := m.now().Sub(m.memberRenewed) < m.opts.RenewDeadline
	for _, t := range targets {
		name := targetName(t)
		h := held[t]
		if leases == nil { // nothing known: keep what is held, decide nothing
			if h != nil {
				m.keep(cctx, t, nil, h, true, fenced, held)
			}
			continue
		}
		mine := Assign(members, t) == m.opts.Identity
		switch {
		case h != nil:
			m.keep(cctx, t, leases[name], h, mine, fenced, held)
		case mine && fenced:
			m.acquire(cctx, t, leases, held, own)
		}
	}
	if leases != nil {
		m.settled.Store(true)
	}
}

// keep holds a target while this replica's membership is renewed (fenced),
// starts giving it up when it is assigned elsewhere, clears it once the
// target's loop has stopped, and renews the target Lease itself only at
// its long duration (targetLeaseDuration), for readers that judge it alone.
func (m *Manager) keep(ctx context.Context, target string, cur *coordinationv1.Lease, h *holding, mine, fenced bool, held map[string]*holding) {
	if h.stopped != nil {
		select {
		case <-h.stopped:
			delete(held, target)
			if !h.lost {
				m.clear(ctx, target, h)
			}
			return
		default:
		}
	}
	if h.lost {
		return
	}
	if cur != nil && holder(cur) != m.opts.Identity {
		m.lose(target, h, "held by "+holder(cur))
		return
	}
	if !fenced {
		m.lose(target, h, "membership lease not renewed for "+m.opts.RenewDeadline.String())
		return
	}
	if !mine && h.stopped == nil {
		m.log.Info("ha: giving target up: assigned to another replica", "target", target)
		m.opts.Metrics.release(ReleasedReassigned)
		h.stopped = make(chan struct{})
		go func() { h.release(false); close(h.stopped) }()
	}
	if m.now().Sub(h.renewed) < m.targetLeaseDuration()/3 {
		return
	}
	base := h.lease
	if cur != nil {
		base = cur
	}
	l := base.DeepCopy()
	l.Spec.RenewTime = m.microNow()
	l.Spec.LeaseDurationSeconds = seconds(m.targetLeaseDuration())
	updated, err := m.update(ctx, l)
	if err != nil {
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			m.lose(target, h, "target lease changed by another writer: "+err.Error())
		}
		return // the membership fences the target; renewed at the next round
	}
	h.lease, h.renewed = updated, m.now()
}

// lose stops a target whose Lease is no longer this replica's.
func (m *Manager) lose(target string, h *holding, why string) {
	m.log.Warn("ha: target lease lost; its loop stops", "target", target, "reason", why)
	h.lost = true
	if h.stopped == nil {
		m.opts.Metrics.release(ReleasedLost)
		h.stopped = make(chan struct{})
		go func() { h.release(true); close(h.stopped) }()
	}
}

// acquire takes a target's Lease when it is missing, free or expired.
func (m *Manager) acquire(ctx context.Context, target string, leases map[string]*coordinationv1.Lease, held map[string]*holding, own func(string) func(bool)) {
	cur := leases[targetName(target)]
	now := m.microNow()
	var (
		got *coordinationv1.Lease
		err error
		how = AcquiredFree
	)
	switch {
	case cur == nil:
		l := m.newLease(targetName(target), kindTarget)
		l.Annotations = map[string]string{AnnotationOwner: target}
		l.Spec.AcquireTime = now
		l.Spec.LeaseDurationSeconds = seconds(m.targetLeaseDuration())
		got, err = m.create(ctx, l)
	case holder(cur) == "" || m.targetExpired(cur, leases, true):
		l := cur.DeepCopy()
		prev := holder(cur)
		if prev != "" {
			how = AcquiredExpired
		}
		id := m.opts.Identity
		l.Spec.HolderIdentity = &id
		l.Spec.LeaseDurationSeconds = seconds(m.targetLeaseDuration())
		l.Spec.AcquireTime, l.Spec.RenewTime = now, now
		transitions := int32(0)
		if l.Spec.LeaseTransitions != nil {
			transitions = *l.Spec.LeaseTransitions
		}
		if prev != "" && prev != id {
			transitions++
		}
		l.Spec.LeaseTransitions = &transitions
		got, err = m.update(ctx, l)
		if err == nil && prev != "" && prev != id {
			m.log.Info("ha: took over an expired target lease", "target", target, "from", prev)
		}
	default:
		return // held by a live replica: it gives the target up, or expires
	}
	if err != nil {
		if !apierrors.IsConflict(err) && !apierrors.IsAlreadyExists(err) && ctx.Err() == nil {
			m.log.Warn("ha: acquire target lease failed; retried", "target", target, "error", err.Error())
		}
		return
	}
	m.log.Info("ha: target acquired", "target", target)
	m.opts.Metrics.acquire(how)
	h := &holding{lease: got, renewed: m.now()}
	held[target] = h
	m.setOwner(target, m.opts.Identity)
	h.release = own(target)
}

// clear gives a held Lease up so the new owner takes it at once.
func (m *Manager) clear(ctx context.Context, target string, h *holding) {
	l := h.lease.DeepCopy()
	l.Spec.HolderIdentity = nil
	l.Spec.RenewTime = m.microNow()
	if _, err := m.update(ctx, l); err != nil {
		m.log.Warn("ha: target lease not cleared; it expires instead", "target", target, "error", err.Error())
		return
	}
	m.setOwner(target, "")
	m.log.Info("ha: target released", "target", target)
}

// shutdown stops every loop (their reconciles in flight end), then clears
// the Leases and deletes the membership.
func (m *Manager) shutdown(held map[string]*holding) {
	ctx, cancel := context.WithTimeout(context.Background(), m.opts.RenewDeadline)
	defer cancel()
	var wg sync.WaitGroup
	for _, h := range held {
		if h.stopped == nil {
			m.opts.Metrics.release(ReleasedShutdown)
			h.stopped = make(chan struct{})
			wg.Add(1)
			go func() { defer wg.Done(); h.release(false); close(h.stopped) }()
		}
	}
	wg.Wait()
	for t, h := range held {
		<-h.stopped
		if !h.lost {
			m.clear(ctx, t, h)
		}
	}
	m.count()
	err := m.c.CoordinationV1().Leases(m.opts.Namespace).Delete(ctx, memberName(m.opts.Identity), metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		m.log.Warn("ha: membership lease not deleted; it expires instead", "error", err.Error())
	}
}

// renewMember creates or renews this replica's membership Lease, and says
// whether it is renewed (written now, or recently enough by this replica).
func (m *Manager) renewMember(ctx context.Context, cur *coordinationv1.Lease) bool {
	var err error
	if cur == nil {
		l := m.newLease(memberName(m.opts.Identity), kindMember)
		l.Spec.AcquireTime = l.Spec.RenewTime
		_, err = m.create(ctx, l)
	} else if holder(cur) != m.opts.Identity || m.now().Sub(renewTime(cur)) >= m.opts.RenewDeadline/3 {
		l := cur.DeepCopy()
		id := m.opts.Identity
		l.Spec.HolderIdentity = &id
		l.Spec.LeaseDurationSeconds = m.durationSeconds()
		l.Spec.RenewTime = m.microNow()
		_, err = m.update(ctx, l)
	}
	if err != nil {
		if ctx.Err() == nil {
			m.log.Warn("ha: membership lease not renewed; retried", "error", err.Error())
		}
		return false
	}
	return true
}

// observe records the versions seen and returns the live members (this
// replica always among them).
func (m *Manager) observe(leases map[string]*coordinationv1.Lease, targets []string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for name, l := range leases {
		if o, ok := m.seen[name]; !ok || o.rv != l.ResourceVersion {
			m.seen[name] = observation{rv: l.ResourceVersion, at: now}
		}
	}
	members := []string{m.opts.Identity}
	for _, l := range leases {
		if l.Labels[LabelKind] == kindMember && holder(l) != "" && holder(l) != m.opts.Identity && !m.expiredLocked(l, 0) {
			members = append(members, holder(l))
		}
	}
	sort.Strings(members)
	if leases != nil {
		m.members = members
		m.opts.Metrics.members(len(members))
		for _, t := range targets {
			l := leases[targetName(t)]
			if l == nil || holder(l) == "" || m.targetExpiredLocked(l, leases) {
				delete(m.owners, t)
				continue
			}
			m.owners[t] = holder(l)
		}
	}
	return members
}

// setOwner records this replica's own change of a target's holder ("":
// none), not to wait for the next list to show it.
func (m *Manager) setOwner(target, id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id == "" {
		delete(m.owners, target)
		return
	}
	m.owners[target] = id
}

// targetExpired says whether a held target Lease may be taken over: its
// holder's membership Lease expired, or, when the holder has none (a
// writer that is not a trueup replica, or a replica that deleted its
// membership without clearing the target), the target Lease has not
// changed for leaseDuration. With notHeld, a Lease naming this replica is
// a previous process's (same replica ID, restarted): it is taken back once
// it has not changed for leaseDuration.
func (m *Manager) targetExpired(l *coordinationv1.Lease, leases map[string]*coordinationv1.Lease, notHeld bool) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if notHeld && holder(l) == m.opts.Identity {
		return m.expiredLocked(l, m.opts.LeaseDuration)
	}
	return m.targetExpiredLocked(l, leases)
}

func (m *Manager) targetExpiredLocked(l *coordinationv1.Lease, leases map[string]*coordinationv1.Lease) bool {
	h := holder(l)
	if mem := leases[memberName(h)]; mem != nil && holder(mem) == h {
		return m.expiredLocked(mem, 0)
	}
	return m.expiredLocked(l, m.opts.LeaseDuration)
}

// expiredLocked says whether l has not changed for d (0: its own
// duration) since this replica first saw its current version.
func (m *Manager) expiredLocked(l *coordinationv1.Lease, d time.Duration) bool {
	o, ok := m.seen[l.Name]
	if !ok || o.rv != l.ResourceVersion {
		return false
	}
	if d == 0 {
		d = m.opts.LeaseDuration
		if l.Spec.LeaseDurationSeconds != nil {
			d = time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second
		}
	}
	return m.now().Sub(o.at) > d
}

// list returns the namespace's trueup Leases by name.
func (m *Manager) list(ctx context.Context) (map[string]*coordinationv1.Lease, error) {
	m.count()
	ls, err := m.c.CoordinationV1().Leases(m.opts.Namespace).List(ctx, metav1.ListOptions{LabelSelector: LabelManagedBy + "=trueup," + LabelKind})
	if err != nil {
		return nil, err
	}
	out := make(map[string]*coordinationv1.Lease, len(ls.Items))
	for i := range ls.Items {
		out[ls.Items[i].Name] = &ls.Items[i]
	}
	return out, nil
}

func (m *Manager) create(ctx context.Context, l *coordinationv1.Lease) (*coordinationv1.Lease, error) {
	m.count()
	got, err := m.c.CoordinationV1().Leases(m.opts.Namespace).Create(ctx, l, metav1.CreateOptions{})
	if err == nil {
		m.saw(got)
	}
	return got, err
}

// update writes l with its resourceVersion: it fails with a conflict when
// another replica wrote the Lease since it was read.
func (m *Manager) update(ctx context.Context, l *coordinationv1.Lease) (*coordinationv1.Lease, error) {
	m.count()
	got, err := m.c.CoordinationV1().Leases(m.opts.Namespace).Update(ctx, l, metav1.UpdateOptions{})
	if err == nil {
		m.saw(got)
	}
	return got, err
}

// saw records this replica's own write as seen now.
func (m *Manager) saw(l *coordinationv1.Lease) {
	m.mu.Lock()
	m.seen[l.Name] = observation{rv: l.ResourceVersion, at: m.now()}
	m.mu.Unlock()
}

func (m *Manager) ensureNamespace(ctx context.Context) {
	m.count()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: m.opts.Namespace}}
	_, err := m.c.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) && !apierrors.IsForbidden(err) {
		m.log.Warn("ha: lease namespace not created", "namespace", m.opts.Namespace, "error", err.Error())
	}
}

func (m *Manager) newLease(name, kind string) *coordinationv1.Lease {
	id := m.opts.Identity
	now := m.microNow()
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: m.opts.Namespace,
			Labels: map[string]string{LabelManagedBy: "trueup", LabelKind: kind}},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: &id, LeaseDurationSeconds: m.durationSeconds(), RenewTime: now},
	}
}

func (m *Manager) durationSeconds() *int32 { return seconds(m.opts.LeaseDuration) }

// targetLeaseDuration is the duration written on target Leases and the
// period (a third of it) at which their holder renews them. Replicas judge
// a target Lease by its holder's membership Lease instead (see
// targetExpired); the long duration keeps a reader that judges the target
// Lease alone (kubectl, a replica of an earlier version during a rolling
// update) from seeing a held target expire.
func (m *Manager) targetLeaseDuration() time.Duration {
	return targetLeaseFactor * m.opts.LeaseDuration
}

// targetLeaseFactor: at the default leaseDuration (15s) target Leases
// state 10 minutes and are renewed every 3m20s.
const targetLeaseFactor = 40

func seconds(d time.Duration) *int32 {
	s := int32((d + time.Second - 1) / time.Second)
	return &s
}

func (m *Manager) microNow() *metav1.MicroTime {
	t := metav1.NewMicroTime(m.now())
	return &t
}

func holder(l *coordinationv1.Lease) string {
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

func renewTime(l *coordinationv1.Lease) time.Time {
	if l.Spec.RenewTime == nil {
		return time.Time{}
	}
	return l.Spec.RenewTime.Time
}

// ClientRateLimit is the client-side rate limit (requests per second and
// burst) a Manager's API client needs to keep shards Leases (targets and
// previews) at opts' timings, should this replica hold them all: a list
// and a membership renewal per retryPeriod, each held target Lease renewed
// every third of its long duration (targetLeaseDuration), with half again
// as margin, and never below client-go's default (5 per second). The burst
// is one whole step (every Lease created at once, on a first start or when
// a replica dies), so a takeover never makes the next membership renewal
// wait on the limiter past renewDeadline.
func ClientRateLimit(shards int, opts Options) (qps float32, burst int) {
	if opts.RetryPeriod <= 0 || opts.LeaseDuration <= 0 {
		return 5, 10
	}
	perSecond := 2/opts.RetryPeriod.Seconds() + float64(shards)*3/(targetLeaseFactor*opts.LeaseDuration).Seconds()
	return float32(max(5, 1.5*perSecond)), max(10, shards+2)
}
