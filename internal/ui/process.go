package ui

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/procreg/procreg"
)

// eventPage is how many events the process page shows at once.
const eventPage = 50

type eventView struct {
	procreg.Event
	Declared *procreg.EventType // the registered type, when declared
	Unacked  bool               // a wake event not yet acknowledged
}

type leaseView struct {
	*procreg.Lease
	Live bool
	// Dead is true when this server can prove the holder dead (same host
	// and boot, pid gone); Liveness says what is known either way.
	Dead     bool
	Liveness string
}

type processData struct {
	Rec    procreg.Record
	Lease  *leaseView
	Grants []procreg.HandleGrant
	Events []eventView
	// Timeline paging: Latest is the RecentEvents view (the last
	// eventPage events); otherwise events after From, by EventsAfter.
	Latest    bool
	From      uint64
	FirstSeq  uint64
	LastSeq   uint64
	OlderURL  string // the beginning of the log, when the latest view starts later
	NextURL   string // the following events, in the EventsAfter view
	LatestURL string
	Truncated bool   // EventsAfter returned more than eventPage
	Done      string // the action just performed, from the redirect
	JSON      struct{ Input, Identity, Provenance string }
	Terminal  bool
}

func (s *Server) handleProcess(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	q := r.URL.Query()
	id := q.Get("id")
	d, err := s.process(r.Context(), id, q)
	switch {
	case errors.Is(err, procreg.ErrNotFound):
		s.fail(w, http.StatusNotFound, "no process with id "+strconvQuote(id))
		return
	case errors.Is(err, procreg.ErrInvalid):
		s.fail(w, http.StatusBadRequest, err.Error())
		return
	case err != nil:
		s.fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.render(w, "process", http.StatusOK, page{Title: "Process " + short(40, id), Nav: "process", LiveID: id, Data: d, Elapsed: time.Since(start)})
}

func strconvQuote(s string) string { return strconv.QuoteToGraphic(s) }

func (s *Server) process(ctx context.Context, id string, q url.Values) (*processData, error) {
	rec, err := s.reg.GetProcess(ctx, id)
	if err != nil {
		return nil, err
	}
	d := &processData{Rec: rec, Terminal: rec.IsTerminal(), Done: q.Get("done")}
	d.JSON.Input = prettyJSON(mustJSON(rec.Input))
	d.JSON.Identity = prettyJSON(mustJSON(rec.Identity))
	d.JSON.Provenance = prettyJSON(mustJSON(rec.Provenance))
	l, err := s.reg.GetProcessLease(ctx, id)
	if err != nil {
		return nil, err
	}
	if l != nil {
		lv := &leaseView{Lease: l, Live: l.IsLive(s.now())}
		lv.Liveness = describeLiveness(l.Owner.Liveness)
		if s.self != nil && l.Owner.IsDefinitelyDeadFor(*s.self) {
			lv.Dead = true
		}
		d.Lease = lv
	}
	if d.Grants, err = s.reg.HandleGrantsForProcess(ctx, id); err != nil {
		return nil, err
	}
	declared := map[string]*procreg.EventType{}
	for i := range rec.EventTypes {
		declared[rec.EventTypes[i].Name] = &rec.EventTypes[i]
	}
	var evs []procreg.Event
	if from := q.Get("from"); from != "" {
		n, err := strconv.ParseUint(from, 10, 64)
		if err != nil {
			return nil, &badRequest{"from must be a sequence number"}
		}
		d.From = n
		// EventsAfter has no limit: this reads every event after From and
		// shows the first eventPage.
		if evs, err = s.reg.EventsAfter(ctx, id, n); err != nil {
			return nil, err
		}
		if len(evs) > eventPage {
			evs, d.Truncated = evs[:eventPage], true
		}
	} else {
		d.Latest = true
		if evs, err = s.reg.RecentEvents(ctx, id, eventPage); err != nil {
			return nil, err
		}
	}
	unacked := map[uint64]bool{}
	if rec.WakeTarget != nil || hasWake(rec.EventTypes) {
		wakes, err := s.reg.WakeEventsAfter(ctx, id, 0)
		if err != nil {
			return nil, err
		}
		for _, e := range wakes {
			unacked[e.Sequence] = true
		}
	}
	for _, e := range evs {
		d.Events = append(d.Events, eventView{Event: e, Declared: declared[e.EventType], Unacked: e.Wake != nil && unacked[e.Sequence]})
	}
	base := url.Values{"id": {id}}
	d.LatestURL = "/process?" + base.Encode()
	if len(evs) > 0 {
		d.FirstSeq, d.LastSeq = evs[0].Sequence, evs[len(evs)-1].Sequence
		if d.Latest && d.FirstSeq > 1 {
			v := cloneValues(base)
			v.Set("from", "0")
			d.OlderURL = "/process?" + v.Encode()
		}
		if d.Truncated {
			v := cloneValues(base)
			v.Set("from", strconv.FormatUint(d.LastSeq, 10))
			d.NextURL = "/process?" + v.Encode()
		}
	}
	return d, nil
}

func hasWake(ts []procreg.EventType) bool {
	for _, t := range ts {
		if t.Wake != nil {
			return true
		}
	}
	return false
}

func describeLiveness(l procreg.Liveness) string {
	switch l.Kind {
	case "", procreg.LivenessOpaque:
		return "opaque (never provably dead)"
	case procreg.LivenessLocalProcess:
		parts := []string{"local process pid " + strconv.Itoa(l.PID)}
		if l.HostID != "" {
			parts = append(parts, "host "+l.HostID)
		}
		if l.BootID != "" {
			parts = append(parts, "boot "+l.BootID)
		}
		return strings.Join(parts, ", ")
	}
	return l.Kind
}
