// Package ui is `procreg ui`: a live, read-mostly web view of a registry.
//
// The pages are server-rendered html/template pages with one small script
// (static/app.js) for live updates and lease countdowns; every asset is
// embedded in the binary. A single change-feed poller per server
// (ProcessesChangedSince) fans changes out to the browsers over
// server-sent events, and the browser re-fetches the page it shows.
//
// Every figure comes from a bounded read through the public Registry API:
// lists from ListProcessesPage and ListNonTerminalPage pages, leases by
// point reads of the rows on a page. What the API cannot answer boundedly
// (lease states across the whole registry, the oldest running process, a
// prefix search) is computed over a sample or a bounded scan (a prefix
// search stops after 5,000 rows or 150 ms), and the page says which.
//
// Counts (CountProcesses) are the exception: each reads a whole index
// range, hundreds of milliseconds at a million processes. So no page
// counts itself: the server keeps the latest figure per filter and
// refreshes it in the background, one count at a time (counts.go). A page
// waits at most 100 ms for its figures, then shows each with its time
// ("counts as of 15:04:05Z") or "counting…"; when a figure changes, the
// browsers are told and re-fetch. A figure is recounted when asked for
// and older than 20 times its last count's duration, so small registries
// are always counted fresh and large ones every few seconds.
//
// Safety: the server listens on loopback unless told otherwise, and then
// only with a token (CheckListen); it is read-only unless AllowActions is
// set, and actions are POSTs checked against a per-session CSRF token,
// SameSite cookies and the Origin header. Pages carry a strict Content
// Security Policy (no inline script or style).
package ui

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/procreg/procreg"
)

// DefaultListen is the address `procreg ui` listens on by default.
const DefaultListen = "127.0.0.1:8080"

// Config configures a UI server.
type Config struct {
	// Registry is read (and, with AllowActions, written) by the server.
	Registry procreg.Registry
	// Listen is the TCP address; "" means DefaultListen.
	Listen string
	// Token, if set, must be presented by every request: once as ?token=
	// (which sets a cookie), or as "Authorization: Bearer <token>".
	// Required when Listen is not a loopback address.
	Token string
	// AllowActions enables the operator actions (cancel and abandon
	// requests). Without it the server never writes.
	AllowActions bool
	// PollInterval is how often the change feed is polled; 0 means 1s.
	PollInterval time.Duration
	// Log receives one line per notable event (listening, feed errors).
	Log io.Writer
	// Ready, if set, is called with the bound address once listening.
	Ready func(addr string)
}

// Run serves the UI until ctx is done. It refuses a non-loopback listen
// address without a token (see CheckListen).
func Run(ctx context.Context, cfg Config) error {
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if err := CheckListen(cfg.Listen, cfg.Token); err != nil {
		return err
	}
	s, err := New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.StartFeed(ctx)

	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	addr := ln.Addr().String()
	s.logf("procreg ui: serving http://%s/ (%s)", addr, map[bool]string{false: "read-only", true: "operator actions enabled"}[cfg.AllowActions])
	if cfg.Ready != nil {
		cfg.Ready(addr)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	_ = srv.Shutdown(shut)
	return nil
}

// CheckListen refuses a listen address that is not loopback unless a token
// is set: the UI shows every process's input and payloads, so exposing it
// must be deliberate. "localhost" counts as loopback; an empty host (all
// interfaces) and any other name do not.
func CheckListen(addr, token string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w: --listen %q: %v", procreg.ErrInvalid, addr, err)
	}
	if isLoopbackHost(host) || token != "" {
		return nil
	}
	return fmt.Errorf("%w: --listen %q is not a loopback address: set --token to serve it (or listen on 127.0.0.1)", procreg.ErrInvalid, addr)
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Server is the UI's http.Handler. Its feed poller runs only under Run (or
// StartFeed), so tests and benchmarks may serve pages without it.
type Server struct {
	reg      procreg.Registry
	cfg      Config
	feed     *feed
	counts   *counter
	key      []byte // signs CSRF tokens; fresh per server
	mux      *http.ServeMux
	loopback bool // listening on loopback without a token: check Host
	self     *procreg.LeaseOwner
	now      func() time.Time
}

// New makes a server for cfg without listening; see Handler and StartFeed.
func New(cfg Config) (*Server, error) {
	if cfg.Registry == nil {
		return nil, errors.New("procreg ui: no registry")
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	s := &Server{reg: cfg.Registry, cfg: cfg, key: key, now: time.Now}
	if host, _, err := net.SplitHostPort(cfg.Listen); err == nil && isLoopbackHost(host) && cfg.Token == "" {
		s.loopback = true
	}
	if lv, err := procreg.CurrentProcessLiveness(); err == nil {
		s.self = &procreg.LeaseOwner{OwnerID: "procreg-ui", IncarnationID: "procreg-ui", Liveness: lv}
	}
	s.feed = newFeed(cfg.Registry, cfg.PollInterval, s.logf)
	s.counts = newCounter(cfg.Registry, s.feed.countsChanged)
	s.routes()
	return s, nil
}

// StartFeed starts the change-feed poller until ctx is done (Run does this);
// background counts run under ctx too from then on.
func (s *Server) StartFeed(ctx context.Context) {
	s.counts.setContext(ctx)
	go s.feed.run(ctx)
}

func (s *Server) logf(format string, args ...any) {
	fmt.Fprintf(s.cfg.Log, format+"\n", args...)
}
