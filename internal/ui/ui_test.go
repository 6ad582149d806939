package ui

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/procreg/procreg"
)

func TestCheckListen(t *testing.T) {
	for _, c := range []struct {
		addr, token string
		ok          bool
	}{
		{"127.0.0.1:8080", "", true},
		{"localhost:0", "", true},
		{"[::1]:8080", "", true},
		{"127.9.9.9:80", "", true},
		{"0.0.0.0:8080", "", false},
		{":8080", "", false},
		{"example.com:80", "", false},
		{"10.0.0.1:8080", "", false},
		{"0.0.0.0:8080", "s3cret", true},
		{"nonsense", "", false},
	} {
		err := CheckListen(c.addr, c.token)
		if (err == nil) != c.ok {
			t.Errorf("CheckListen(%q, %q) = %v, want ok=%v", c.addr, c.token, err, c.ok)
		}
	}
}

type testServer struct {
	*httptest.Server
	s   *Server
	reg procreg.Registry
}

func newTestServer(t testing.TB, reg procreg.Registry, cfg Config) *testServer {
	t.Helper()
	cfg.Registry = reg
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s.StartFeed(ctx)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return &testServer{Server: ts, s: s, reg: cfg.Registry}
}

func (ts *testServer) get(t testing.TB, path string) (int, http.Header, string) {
	t.Helper()
	resp, err := ts.Client().Get(ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestPagesEscapeHostileText renders every page that shows the hostile
// ids, labels, payloads and event types and checks that none of their
// markup reaches the page unescaped, and that the database path does not
// appear.
func TestPagesEscapeHostileText(t *testing.T) {
	reg, path := openSQLite(t)
	seedVaried(t, reg)
	ts := newTestServer(t, reg, Config{AllowActions: true})
	pages := []string{"/", "/processes", "/processes?status=any&q=" + url.QueryEscape("<scr"), "/processes?sort=holder&dir=desc"}
	for _, id := range evilIDs {
		pages = append(pages, processURL(id), "/process/confirm?"+url.Values{"id": {id}, "action": {"cancel"}}.Encode())
	}
	for _, p := range pages {
		code, _, body := ts.get(t, p)
		if code != http.StatusOK {
			t.Errorf("GET %s: %d\n%s", p, code, body)
			continue
		}
		for _, bad := range []string{"<script>window", "<img src=x", "<b onmouseover", path, "ui-test.db"} {
			if strings.Contains(body, bad) {
				t.Errorf("GET %s: page contains %q", p, bad)
			}
		}
		// Control characters may travel only where they are data, not
		// text: the JSON island and the hidden form field carry the exact
		// id; everything shown writes them as escapes.
		shown := jsonIsland.ReplaceAllString(hiddenValue.ReplaceAllString(body, ""), "")
		for _, bad := range []string{"\x1b", "\u202e", "\u2028", "\x01"} {
			if strings.Contains(shown, bad) {
				t.Errorf("GET %s: page text contains %q", p, bad)
			}
		}
		// The only script elements are the app script and the JSON island.
		if n := strings.Count(body, "<script"); n > 2 {
			t.Errorf("GET %s: %d script elements", p, n)
		}
	}
	_, _, body := ts.get(t, processURL(evilScriptID))
	for _, want := range []string{"&lt;script&gt;window.__pwned=1&lt;/script&gt;", `\u003cscript\u003e`, "&lt;img src=x onerror=", `ctl\x1b[31m\u202eid\t`} {
		if !strings.Contains(body, want) {
			t.Errorf("process page lacks escaped form %q", want)
		}
	}
	if t.Failed() {
		t.Log(body)
	}
}

func TestSecurityHeadersAndHost(t *testing.T) {
	reg, _ := openSQLite(t)
	seedVaried(t, reg)
	ts := newTestServer(t, reg, Config{})
	code, h, _ := ts.get(t, "/")
	if code != 200 {
		t.Fatalf("GET /: %d", code)
	}
	for k, want := range map[string]string{
		"Content-Security-Policy": "frame-ancestors 'none'",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
	} {
		if !strings.Contains(h.Get(k), want) {
			t.Errorf("%s = %q, want it to contain %q", k, h.Get(k), want)
		}
	}
	if strings.Contains(h.Get("Content-Security-Policy"), "unsafe-inline") {
		t.Error("CSP allows unsafe-inline")
	}
	// DNS rebinding: a loopback server answers only to loopback names.
	req, _ := http.NewRequest("GET", ts.URL+"/", nil)
	req.Host = "attacker.example"
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("foreign Host: %d, want 421", resp.StatusCode)
	}
	// Read-only: no confirm page, no action.
	if code, _, _ := ts.get(t, "/process/confirm?id=build-002&action=cancel"); code != http.StatusForbidden {
		t.Errorf("confirm without --allow-actions: %d", code)
	}
	if _, _, body := ts.get(t, processURL("build-002")); strings.Contains(body, "Request cancel") {
		t.Error("read-only process page offers actions")
	}
}

func TestTokenRequired(t *testing.T) {
	reg, _ := openSQLite(t)
	ts := newTestServer(t, reg, Config{Listen: "0.0.0.0:0", Token: "s3cret"})
	if code, _, _ := ts.get(t, "/"); code != http.StatusUnauthorized {
		t.Fatalf("no token: %d", code)
	}
	jar := &cookieJar{}
	c := ts.Client()
	c.Jar = jar
	resp, err := c.Get(ts.URL + "/processes?token=s3cret&status=failed")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Query().Get("token") != "" || resp.Request.URL.Query().Get("status") != "failed" {
		t.Fatalf("token login: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	req, _ := http.NewRequest("GET", ts.URL+"/", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("bearer: %d", resp.StatusCode)
	}
}

// TestActionsNeedCSRFAndSameOrigin posts the cancel action with each
// protection missing, then properly.
func TestActionsNeedCSRFAndSameOrigin(t *testing.T) {
	reg, _ := openSQLite(t)
	id := seedVaried(t, reg)
	ts := newTestServer(t, reg, Config{AllowActions: true})
	c := ts.Client()
	c.Jar = &cookieJar{}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(ts.URL + "/process/confirm?" + url.Values{"id": {id}, "action": {"cancel"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	csrf := between(string(b), `name="csrf" value="`, `"`)
	if csrf == "" {
		t.Fatalf("no csrf token in\n%s", b)
	}
	post := func(origin string, form url.Values) int {
		req, _ := http.NewRequest("POST", ts.URL+"/process/action", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	good := url.Values{"id": {id}, "action": {"cancel"}, "reason": {"from the test"}, "csrf": {csrf}}
	bad := url.Values{"id": {id}, "action": {"cancel"}, "csrf": {"forged"}}
	if code := post("", good); code != http.StatusForbidden {
		t.Errorf("no Origin: %d", code)
	}
	if code := post("http://evil.example", good); code != http.StatusForbidden {
		t.Errorf("cross origin: %d", code)
	}
	if code := post(ts.URL, bad); code != http.StatusForbidden {
		t.Errorf("forged csrf: %d", code)
	}
	evs, _ := reg.EventsAfter(context.Background(), id, 0)
	for _, e := range evs {
		if e.EventType == procreg.EventCancelRequested {
			t.Fatal("a refused request appended the cancel")
		}
	}
	if code := post(ts.URL, good); code != http.StatusSeeOther {
		t.Fatalf("good request: %d", code)
	}
	evs, _ = reg.EventsAfter(context.Background(), id, 0)
	if last := evs[len(evs)-1]; last.EventType != procreg.EventCancelRequested || !strings.Contains(string(last.Payload), "from the test") {
		t.Fatalf("last event %+v", last)
	}
}

var (
	jsonIsland  = regexp.MustCompile(`(?s)<script type="application/json"[^>]*>.*?</script>`)
	hiddenValue = regexp.MustCompile(`(?s)<input type="hidden" name="id" value="[^"]*">`)
)

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	j := strings.Index(s, b)
	if j < 0 {
		return ""
	}
	return s[:j]
}

// cookieJar is a minimal jar for one test server.
type cookieJar struct{ cookies []*http.Cookie }

func (j *cookieJar) SetCookies(_ *url.URL, cs []*http.Cookie) {
	for _, c := range cs {
		replaced := false
		for i, old := range j.cookies {
			if old.Name == c.Name {
				j.cookies[i], replaced = c, true
			}
		}
		if !replaced {
			j.cookies = append(j.cookies, c)
		}
	}
}
func (j *cookieJar) Cookies(*url.URL) []*http.Cookie { return j.cookies }

func TestListFiltersSortingAndPrefix(t *testing.T) {
	reg, _ := openSQLite(t)
	seedVaried(t, reg)
	ts := newTestServer(t, reg, Config{})
	for _, c := range []struct {
		path  string
		code  int
		wants []string
		not   []string
	}{
		{"/processes?status=failed", 200, []string{"build-001", "build-019", "<b>4</b> match"}, []string{"build-002"}},
		{"/processes?status=running&waiting=yes", 200, []string{"build-003", "build-021"}, []string{"build-002"}},
		{"/processes?definition=" + url.QueryEscape(`{"pipeline":"ui"}`) + "&status=any", 200, []string{"build-000"}, nil},
		{"/processes?definition=" + url.QueryEscape(`{"pipeline":"other"}`), 200, []string{"No processes on this page"}, []string{"build-000"}},
		{"/processes?q=build-01", 200, []string{"build-010", "build-019", "Prefix search scanned"}, []string{"build-009", "build-020"}},
		{"/processes?q=build-007", 200, []string{"Open process build-007"}, nil},
		{"/processes?sort=updated&dir=desc", 200, []string{"within this page of 26 only"}, nil},
		{"/processes?limit=5", 200, []string{"Next page"}, []string{"build-005"}},
		{"/processes?definition=%7Bnope", 400, []string{"definition must be JSON"}, nil},
		{"/processes?limit=100000", 400, nil, nil},
		{"/processes?cursor=garbage", 400, nil, nil},
		{processURL("no-such-process"), 404, []string{"no process with id"}, nil},
	} {
		code, _, body := ts.get(t, c.path)
		if code != c.code {
			t.Errorf("GET %s: %d, want %d", c.path, code, c.code)
		}
		for _, w := range c.wants {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: lacks %q", c.path, w)
			}
		}
		for _, w := range c.not {
			if strings.Contains(body, w) {
				t.Errorf("GET %s: contains %q", c.path, w)
			}
		}
	}
}
