package notifications

import "time"

// flapDetector counts how many distinct episodes each object opened within
// a sliding window. It is owned by one worker and not safe for concurrent use.
type flapDetector struct {
	threshold int
	window    time.Duration
	objects   map[string]*flapState
	swept     time.Time
}

type flapState struct {
	opens []flapOpen
	// noted is set once the "flapping" note was sent for the current burst.
	noted bool
}

type flapOpen struct {
	episode string
	at      time.Time
}

func newFlapDetector(threshold int, window time.Duration) *flapDetector {
	return &flapDetector{threshold: threshold, window: window, objects: map[string]*flapState{}}
}

// flapVerdict says what to do with an episode that is about to open.
type flapVerdict struct {
	suppress bool // the object is flapping: do not post the episode
	note     bool // and send the one note for this burst
	opens    int  // distinct episodes in the window, this one included
}

// open records that episode of object opens at now and returns the verdict.
// An object opening more than threshold episodes within window flaps; the
// burst ends once the count falls back to threshold or below.
func (f *flapDetector) open(object, episode string, now time.Time) flapVerdict {
	if f.threshold <= 0 || object == "" {
		return flapVerdict{}
	}
	f.sweep(now)
	st := f.objects[object]
	if st == nil {
		st = &flapState{}
		f.objects[object] = st
	}
	st.prune(now.Add(-f.window))
	if !st.has(episode) {
		st.opens = append(st.opens, flapOpen{episode, now})
	}
	v := flapVerdict{opens: len(st.opens)}
	if len(st.opens) <= f.threshold {
		st.noted = false
		return v
	}
	v.suppress, v.note = true, !st.noted
	st.noted = true
	return v
}

func (s *flapState) prune(cutoff time.Time) {
	i := 0
	for i < len(s.opens) && s.opens[i].at.Before(cutoff) {
		i++
	}
	s.opens = s.opens[i:]
}

func (s *flapState) has(episode string) bool {
	for _, o := range s.opens {
		if o.episode == episode {
			return true
		}
	}
	return false
}

// sweep forgets objects without opens in the window, at most once per window.
func (f *flapDetector) sweep(now time.Time) {
	if now.Sub(f.swept) < f.window {
		return
	}
	f.swept = now
	cutoff := now.Add(-f.window)
	for k, st := range f.objects {
		st.prune(cutoff)
		if len(st.opens) == 0 {
			delete(f.objects, k)
		}
	}
}
