package ui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/procreg/procreg"
)

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.handleOverview)
	m.HandleFunc("GET /processes", s.handleList)
	m.HandleFunc("GET /process", s.handleProcess)
	m.HandleFunc("GET /process/confirm", s.handleConfirm)
	m.HandleFunc("POST /process/action", s.handleAction)
	m.HandleFunc("GET /live", s.handleLive)
	m.Handle("GET /static/", s.static())
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			s.fail(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		s.fail(w, http.StatusNotFound, "no such page")
	})
	s.mux = m
}

// confirmData is the confirmation form of an operator action.
type confirmData struct {
	Rec    procreg.Record
	Action string // "cancel" or "abandon"
	Verb   string
	CSRF   string
}

var actionVerbs = map[string]string{
	"cancel":  "Request cancellation",
	"abandon": "Request abandonment",
}

// handleConfirm shows the form that confirms an action: the button on the
// process page only leads here, and only this form's POST acts.
func (s *Server) handleConfirm(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.AllowActions {
		s.fail(w, http.StatusForbidden, "operator actions are disabled (start procreg ui with --allow-actions)")
		return
	}
	q := r.URL.Query()
	action := q.Get("action")
	verb, ok := actionVerbs[action]
	if !ok {
		s.fail(w, http.StatusBadRequest, "unknown action")
		return
	}
	rec, err := s.reg.GetProcess(r.Context(), q.Get("id"))
	if err != nil {
		s.fail(w, http.StatusNotFound, "no such process")
		return
	}
	sess := s.session(w, r)
	s.render(w, "confirm", http.StatusOK, page{Title: verb, Nav: "confirm",
		Data: confirmData{Rec: rec, Action: action, Verb: verb, CSRF: s.csrfToken(sess)}})
}

// handleAction performs a confirmed action and redirects to the process.
func (s *Server) handleAction(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.AllowActions {
		s.fail(w, http.StatusForbidden, "operator actions are disabled (start procreg ui with --allow-actions)")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if reason := s.checkPost(r); reason != "" {
		s.fail(w, http.StatusForbidden, "refused: "+reason)
		return
	}
	id, action := r.PostFormValue("id"), r.PostFormValue("action")
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if reason == "" {
		reason = "requested from procreg ui"
	}
	var err error
	switch action {
	case "cancel":
		_, err = s.reg.AppendEvent(r.Context(), id, procreg.CancelRequested(id, reason))
	case "abandon":
		_, err = s.reg.RequestProcessAbandon(r.Context(), id, procreg.AbandonRequest{
			RequestedBy: "procreg ui", RequestedAt: s.now().UTC(), Reason: reason})
	default:
		s.fail(w, http.StatusBadRequest, "unknown action")
		return
	}
	if err != nil {
		s.fail(w, http.StatusConflict, fmt.Sprintf("%s failed: %v", actionVerbs[action], err))
		return
	}
	s.logf("procreg ui: %s of %q from %s", action, id, r.RemoteAddr)
	http.Redirect(w, r, "/process?"+url.Values{"id": {id}, "done": {action}}.Encode(), http.StatusSeeOther)
}

// handleLive streams the change feed to one browser as server-sent events:
// "change" with {"ids": [...]} per batch (ids of the changed processes, at
// most 100; "more" when there were more), "change" with {"counts": true}
// when a background count has a new figure, and a comment every 15s to
// keep the connection open.
func (s *Server) handleLive(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	ch := s.feed.subscribe()
	defer s.feed.unsubscribe(ch)
	rc := http.NewResponseController(w)
	fmt.Fprintf(w, "retry: 3000\n\n")
	fl.Flush()
	tick := time.NewTicker(15 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := fmt.Fprintf(w, ": keep-alive\n\n"); err != nil {
				return
			}
		case m := <-ch:
			msg := struct {
				IDs    []string `json:"ids"`
				States []string `json:"states"`
				More   bool     `json:"more,omitempty"`
				Live   bool     `json:"live"`
				Counts bool     `json:"counts,omitempty"`
			}{IDs: []string{}, States: []string{}, Live: true, Counts: m.Counts}
			for i, c := range m.Changes {
				if i == 100 {
					msg.More = true
					break
				}
				msg.IDs = append(msg.IDs, c.ID)
				msg.States = append(msg.States, c.State)
			}
			b, _ := json.Marshal(msg)
			_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := fmt.Fprintf(w, "event: change\ndata: %s\n\n", b); err != nil {
				return
			}
		}
		fl.Flush()
	}
}
