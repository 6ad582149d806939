package ui

import (
	"context"
	"net/http"
	"time"

	"github.com/procreg/procreg"
)

// leaseSample is how many running processes (the first by id) the overview
// reads leases for: the Registry API has no lease index to count from.
const leaseSample = 100

var statuses = []procreg.StatusFilter{
	procreg.StatusRunning, procreg.StatusCompleted, procreg.StatusFailed,
	procreg.StatusCancelled, procreg.StatusAbandoned,
}

type statusCount struct {
	Status string
	figure
}

type overviewData struct {
	Counts     []statusCount
	Total      int
	TotalKnown bool // every status has a figure
	Waiting    figure
	CountsAt   time.Time // the oldest figure's time
	Counting   bool      // some figure is not known yet
	Sample     int       // running processes whose leases were read
	SampleAll  bool      // the sample is every running process
	Held       int
	Expired    int
	Free       int
	Oldest     []procreg.Record // oldest-created running processes in the sample
	// Failures are the latest failures seen on the change feed; before the
	// feed has caught up, the first failed processes by id (FailuresByID).
	Failures     []procreg.Record
	FailuresByID bool
	Changes      []change
}

func (s *Server) handleOverview(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		s.fail(w, http.StatusNotFound, "no such page")
		return
	}
	start := time.Now()
	d, err := s.overview(r.Context())
	if err != nil {
		s.fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.render(w, "overview", http.StatusOK, page{Title: "Overview", Nav: "overview", Data: d, Elapsed: time.Since(start)})
}

func (s *Server) overview(ctx context.Context) (*overviewData, error) {
	p := s.reg
	d := &overviewData{}
	// Counts: one CountProcesses per status and one of the waiting, from
	// the counter (background counts; see counts.go), never waited on for
	// longer than countWait.
	yes := true
	fs := make([]procreg.ListFilter, 0, len(statuses)+1)
	for _, st := range statuses {
		fs = append(fs, procreg.ListFilter{Status: st})
	}
	fs = append(fs, procreg.ListFilter{Status: procreg.StatusRunning, Waiting: &yes})
	figs, err := s.counts.get(ctx, fs...)
	if err != nil {
		return nil, err
	}
	d.TotalKnown = true
	for i, st := range statuses {
		d.Counts = append(d.Counts, statusCount{Status: string(st), figure: figs[i]})
		d.Total += figs[i].N
		d.TotalKnown = d.TotalKnown && figs[i].Known
	}
	d.Waiting = figs[len(statuses)]
	d.CountsAt, d.Counting = asOf(figs)
	// Leases and age: over the first leaseSample running processes by id,
	// one point read per lease.
	sample, err := p.ListNonTerminalPage(ctx, leaseSample, "")
	if err != nil {
		return nil, err
	}
	d.Sample, d.SampleAll = len(sample.Records), sample.Next == ""
	now := s.now()
	for _, rec := range sample.Records {
		l, err := s.reg.GetProcessLease(ctx, rec.ID)
		if err != nil {
			return nil, err
		}
		switch {
		case l == nil:
			d.Free++
		case l.IsLive(now):
			d.Held++
		default:
			d.Expired++
		}
	}
	d.Oldest = oldest(sample.Records, 5)
	st := s.feed.status()
	d.Changes = st.Changes
	if st.CaughtUp {
		d.Failures = st.Failures
	} else {
		d.FailuresByID = true
		fp, err := p.ListProcessesPage(ctx, procreg.ListFilter{Status: procreg.StatusFailed}, 10, "")
		if err != nil {
			return nil, err
		}
		d.Failures = fp.Records
	}
	return d, nil
}

// oldest returns the n earliest-created records, oldest first.
func oldest(recs []procreg.Record, n int) []procreg.Record {
	out := make([]procreg.Record, 0, n+1)
	for _, r := range recs {
		i := len(out)
		for i > 0 && r.CreatedAt.Before(out[i-1].CreatedAt) {
			i--
		}
		if i >= n {
			continue
		}
		out = append(out, procreg.Record{})
		copy(out[i+1:], out[i:])
		out[i] = r
		if len(out) > n {
			out = out[:n]
		}
	}
	return out
}

// asOf returns the time of the oldest known figure and whether any figure
// is not known yet.
func asOf(figs []figure) (at time.Time, counting bool) {
	for _, f := range figs {
		if !f.Known {
			counting = true
		} else if at.IsZero() || f.At.Before(at) {
			at = f.At
		}
	}
	return at, counting
}
