package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/procreg/procreg"
	"github.com/procreg/procreg/backends"
	"github.com/procreg/procreg/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// The end-to-end tests drive Debian's headless Chromium through the UI
// served by Run on a seeded registry: overview → list → filter → process
// page, a live update appended by the test and seen without a reload, an
// operator action, and the hostile process. Each step keeps a PNG under
// $PROCREG_UI_ARTIFACTS/<backend> (or a temporary directory); the paths
// are logged. Without a browser the tests skip, and fail when CI=true
// (ci/chromium.sh installs it).

func TestBrowserSQLite(t *testing.T) {
	reg, _ := openSQLite(t)
	browserTour(t, "sqlite", reg)
}

func TestBrowserPostgres(t *testing.T) {
	db := testdb.PostgresMigrated(t)
	reg, err := backends.OpenExisting(context.Background(), db.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	browserTour(t, "postgres", reg)
}

func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("PROCREG_CHROMIUM"), "/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p == "" {
			continue
		}
		if found, err := exec.LookPath(p); err == nil {
			return found
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium (CI=true): install Debian's chromium (ci/chromium.sh) or set PROCREG_CHROMIUM")
	}
	t.Skip("no Chromium: apt-get install chromium, or set PROCREG_CHROMIUM")
	return ""
}

func artifactDir(t *testing.T, backend string) string {
	dir := os.Getenv("PROCREG_UI_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	dir = filepath.Join(dir, backend)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func browserTour(t *testing.T, backend string, reg procreg.Registry) {
	exe := chromiumPath(t)
	follow := seedVaried(t, reg)
	shots := artifactDir(t, backend)

	// The server, through Run as `procreg ui --allow-actions` starts it.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Registry: reg, Listen: "127.0.0.1:0", AllowActions: true,
			PollInterval: 200 * time.Millisecond, Ready: func(a string) { ready <- a }})
	}()
	var base string
	select {
	case a := <-ready:
		base = "http://" + a
	case err := <-done:
		t.Fatal(err)
	}
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	// Generous: the machine is shared and loaded.
	tctx, tcancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer tcancel()
	actx, acancel := chromedp.NewExecAllocator(tctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer bcancel()
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}

	// A JavaScript dialog would mean injected script ran.
	var dialogs atomic.Int32
	go func() {
		for ev, err := range chromedp.Events(bctx, cdppage.JavascriptDialogOpening) {
			if err != nil {
				return
			}
			dialogs.Add(1)
			t.Logf("a dialog opened: %q", ev.Message)
			_, _ = chromedp.Call(bctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: true})
		}
	}()

	const wait = 90 * time.Second
	do := func(step string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	poll := func(step, expr string) {
		t.Helper()
		// Evaluate in a loop rather than Poll: a navigation in between
		// destroys the page's execution context, which fails a Poll.
		deadline := time.Now().Add(wait)
		for {
			ok, err := chromedp.Run(bctx, chromedp.Evaluate[bool](expr))
			if err == nil && ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: waiting for %s: %v", step, expr, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	shot := func(name string) {
		t.Helper()
		// Retried: once, under load, Chromium answered "Cannot take
		// screenshot with 0 width" right after a form submission's page
		// had rendered.
		var png []byte
		var err error
		for try := 0; try < 3; try++ {
			if png, err = chromedp.Run(bctx, chromedp.FullScreenshot(100)); err == nil {
				break
			}
			time.Sleep(300 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		p := filepath.Join(shots, name+".png")
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
	}
	noPwn := func(where string) {
		t.Helper()
		pwned, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`window.__pwned !== undefined`))
		if err != nil {
			t.Fatal(err)
		}
		if pwned || dialogs.Load() > 0 {
			t.Fatalf("%s: injected script ran", where)
		}
	}
	visible := func(sel string) chromedp.Action[chromedp.Void] { return chromedp.WaitVisible(chromedp.CSS(sel)) }
	const feedLive = `document.getElementById("live-status").textContent.trim().startsWith("live")`

	// Overview.
	do("overview", chromedp.Navigate(base+"/"), visible(".cards"))
	poll("overview", feedLive) // the feed caught up: the pill says live
	cards := strings.ToLower(text(".cards"))
	for _, want := range []string{"processes", "running", "failed", "waiting"} {
		if !strings.Contains(cards, want) {
			t.Errorf("overview cards lack %q: %q", want, cards)
		}
	}
	noPwn("overview")
	shot("1-overview")

	// List, then filter to the failed processes.
	do("list", chromedp.Click(chromedp.CSS(`header nav a[href="/processes"]`)), visible("table.list"))
	noPwn("list")
	shot("2-list")
	do("filter", chromedp.SetValue(chromedp.CSS(`select[name="status"]`), "failed"),
		chromedp.Submit(chromedp.CSS(`form.filters`)))
	poll("filter", `location.search.includes("status=failed") && !!document.querySelector("table.list")`)
	states, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("table.list tbody tr td:nth-child(3) .badge")).map(e => e.textContent)`))
	if err != nil || len(states) == 0 {
		t.Fatalf("the failed filter shows no rows (%v)", err)
	}
	for _, s := range states {
		if s != "failed" {
			t.Fatalf("the failed filter shows a %q row", s)
		}
	}
	shot("3-list-failed")

	// A process page, from the filtered list.
	do("process from list", chromedp.Click(chromedp.CSS(`table.list tbody tr:first-child a.id`)), visible("h1.pid"))
	if h := text("h1.pid"); !strings.Contains(h, "failed") {
		t.Errorf("process page heading %q", h)
	}

	// A leased running process: live update without a reload.
	do("followed process", chromedp.Navigate(base+processURL(follow)), visible("ol.timeline"))
	poll("followed process", feedLive)
	do("mark", chromedp.Evaluate[chromedp.Void](`window.__noReload = 42`))
	countdown1 := text(`[data-expires]`)
	do("wait", chromedp.Sleep(2200*time.Millisecond))
	countdown2 := text(`[data-expires]`)
	if countdown1 == countdown2 || !strings.HasPrefix(countdown2, "in ") {
		t.Errorf("lease countdown did not count: %q then %q", countdown1, countdown2)
	}
	line := fmt.Sprintf("appended by the browser test at %s", time.Now().Format(time.RFC3339Nano))
	payload, _ := json.Marshal(map[string]string{"line": line})
	if _, err := reg.AppendEvent(context.Background(), follow, procreg.AppendRequest{EventType: "log", Payload: payload}); err != nil {
		t.Fatal(err)
	}
	poll("live update", fmt.Sprintf(`document.getElementById("live").innerText.includes(%q)`, line))
	if kept, err := chromedp.Run(bctx, chromedp.Evaluate[int](`window.__noReload`)); err != nil || kept != 42 {
		t.Fatalf("the page reloaded instead of updating in place (%v)", err)
	}
	shot("4-process-live")

	// An operator action: request cancellation, confirm, see it appended.
	do("cancel", chromedp.Click(chromedp.CSS(`.actions a.button`)), visible(`#confirm`),
		chromedp.SetValue(chromedp.CSS(`#reason`), "stopped from the browser test"))
	shot("5-confirm")
	do("confirm", chromedp.Click(chromedp.CSS(`#confirm`)), visible(`.flash`))
	if tl := text(`ol.timeline`); !strings.Contains(tl, procreg.EventCancelRequested) || !strings.Contains(tl, "stopped from the browser test") {
		t.Errorf("timeline after cancel: %q", tl)
	}
	evs, err := reg.RecentEvents(context.Background(), follow, 1)
	if err != nil || len(evs) != 1 || evs[0].EventType != procreg.EventCancelRequested {
		t.Fatalf("registry after cancel: %v %+v", err, evs)
	}
	shot("6-cancel-requested")

	// The hostile process: its id and payloads are text, nothing runs.
	do("hostile", chromedp.Navigate(base+processURL(evilScriptID)), visible("ol.timeline"))
	if h := text("h1.pid"); !strings.Contains(h, `<script>window.__pwned=1</script>"id'`) {
		t.Errorf("hostile id heading %q", h)
	}
	island, err := chromedp.Run(bctx, chromedp.Evaluate[string](`JSON.parse(document.getElementById("procreg-live").textContent)`))
	if err != nil || island != evilScriptID {
		t.Errorf("JSON island decodes to %q (%v)", island, err)
	}
	noPwn("hostile process")
	shot("7-hostile")
	do("hostile list", chromedp.Navigate(base+"/processes?q=ctl"), visible("table.list"))
	noPwn("hostile list")
}
