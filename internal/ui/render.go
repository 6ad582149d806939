package ui

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

var pageNames = []string{"overview", "list", "process", "confirm", "error"}

var templates = func() map[string]*template.Template {
	funcs := template.FuncMap{
		"show":    printable,
		"short":   short,
		"ts":      timestamp,
		"clock":   func(t time.Time) string { return t.UTC().Format("15:04:05Z") },
		"ago":     ago,
		"pretty":  prettyJSON,
		"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) },
		"pid":     processURL,
		"confirmURL": func(id, action string) string {
			return "/process/confirm?" + url.Values{"id": {id}, "action": {action}}.Encode()
		},
		"stateCls": stateClass,
		"join":     strings.Join,
	}
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	m := map[string]*template.Template{}
	for _, name := range pageNames {
		t := template.Must(base.Clone())
		m[name] = template.Must(t.ParseFS(templateFS, "templates/"+name+".html"))
	}
	return m
}()

// page is what the layout needs from every page.
type page struct {
	Title   string
	Nav     string // "overview", "list" or "process": the live script's mode
	LiveID  string // the process whose changes re-fetch the page
	Actions bool
	Feed    feedStatus
	Now     time.Time
	Elapsed time.Duration // rounded by render
	Data    any
}

// render executes a page. A request with X-Procreg-Partial (the live
// script's re-fetch) gets the same page; the script keeps only #live.
func (s *Server) render(w http.ResponseWriter, name string, status int, p page) {
	p.Actions = s.cfg.AllowActions
	p.Feed = s.feed.status()
	p.Elapsed = p.Elapsed.Round(100 * time.Microsecond)
	if p.Now.IsZero() {
		p.Now = s.now()
	}
	var buf bytes.Buffer
	if err := templates[name].Execute(&buf, p); err != nil {
		http.Error(w, "procreg ui: render: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) fail(w http.ResponseWriter, status int, msg string) {
	s.render(w, "error", status, page{Title: "Error", Data: msg})
}

func (s *Server) static() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	fsrv := http.FileServer(http.FS(sub))
	return http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		fsrv.ServeHTTP(w, r)
	}))
}

// printable makes stored text readable and unambiguous: control
// characters, bidirectional controls, line separators and invalid UTF-8 are
// shown as Go escapes (\x1b, \u202e). html/template escapes the result for
// its context; this only keeps invisible characters visible.
func printable(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029':
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// short is printable, cut to n runes with an ellipsis.
func short(n int, s string) string {
	s = printable(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// prettyJSON indents JSON for a <pre>; html/template escapes it. Control
// characters inside JSON strings are already \u escapes.
func prettyJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return printable(string(raw))
	}
	return b.String()
}

func mustJSON(v any) json.RawMessage {
	// Not HTML-escaped here: html/template escapes the text it shows, and
	// \u003c in a payload would only make it harder to read.
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return json.RawMessage(`null`)
	}
	return bytes.TrimSpace(b.Bytes())
}

func timestamp(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func ago(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	suffix := " ago"
	if d < 0 {
		d, suffix = -d, " from now"
	}
	switch {
	case d < time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds%s", int(d.Seconds()), suffix)
	case d < time.Hour:
		return fmt.Sprintf("%dm%s", int(d.Minutes()), suffix)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%s", int(d.Hours()), suffix)
	default:
		return fmt.Sprintf("%dd%s", int(d.Hours()/24), suffix)
	}
}

func processURL(id string) string {
	return "/process?" + url.Values{"id": {id}}.Encode()
}

func stateClass(state string) string {
	switch state {
	case "running", "completed", "failed", "cancelled", "abandoned":
		return "st-" + state
	}
	return "st-other"
}
