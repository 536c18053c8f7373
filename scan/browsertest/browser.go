package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Browser is one headless Chromium process; each Phone is a fresh browser
// context in it, with cookies of its own.
type Browser struct {
	t     testing.TB
	alloc context.Context
	root  context.Context
	shots string // where screenshots go
}

// executable finds Chromium: $YIMA_CHROMIUM, else the usual names.
func executable() string {
	if p := os.Getenv("YIMA_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Start launches Chromium for the test and stops it when the test ends.
// Without Chromium the test is skipped, or fails when YIMA_REQUIRE_BROWSER
// is set.
func Start(t testing.TB) *Browser {
	t.Helper()
	path := executable()
	if path == "" {
		if os.Getenv("YIMA_REQUIRE_BROWSER") != "" {
			t.Fatal("YIMA_REQUIRE_BROWSER is set but Chromium is not installed; run scripts/install-test-deps.sh")
		}
		t.Skip("Chromium is not installed (scripts/install-test-deps.sh installs it); set YIMA_REQUIRE_BROWSER=1 to fail instead")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		// Containers and CI run as root, where Chromium's sandbox
		// cannot start.
		chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(390, 844),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	root, cancelRoot := chromedp.NewContext(alloc)
	// The first action starts the browser.
	if err := chromedp.Do(root); err != nil {
		cancelRoot()
		cancelAlloc()
		t.Fatalf("starting Chromium (%s): %v", path, err)
	}
	t.Cleanup(func() {
		cancelRoot()
		cancelAlloc()
	})
	return &Browser{t: t, alloc: alloc, root: root, shots: screenshots(t)}
}

// screenshots is where a test's phones keep their screenshots:
// $YIMA_SCREENSHOTS (docs/screenshots refreshes the README's), else the
// test's temporary directory.
func screenshots(t testing.TB) string {
	if d := os.Getenv("YIMA_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// Phone is a phone's browser: a context of its own (cookies included) in
// the Browser, with a phone's screen and a language preference.
type Phone struct {
	t     testing.TB
	ctx   context.Context
	shots string
	// Status is the HTTP status of the last page loaded.
	Status int
}

// PhoneOptions say what kind of phone to open.
type PhoneOptions struct {
	// AcceptLanguage is the language the phone prefers; empty is a
	// phone set to Simplified Chinese (zh-CN,zh;q=0.9).
	AcceptLanguage string
	// JavaScript turns scripts on; pages must work without them, so
	// they are off unless a test asks.
	JavaScript bool
}

// Timeout bounds each step a Phone takes.
const Timeout = 20 * time.Second

// NewPhone opens a fresh phone: no cookies, a 390×844 screen at 3× as
// an iPhone 12-class phone has.
func (b *Browser) NewPhone(o PhoneOptions) *Phone {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.root, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	lang := o.AcceptLanguage
	if lang == "" {
		lang = "zh-CN,zh;q=0.9"
	}
	// The first action creates the phone's tab, which lives as long as
	// the context of that call: so it runs on ctx itself, not on one of
	// the steps' contexts with a timeout.
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("opening a browser context: %v", err)
	}
	p := &Phone{t: b.t, ctx: ctx, shots: b.shots}
	p.run(
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile),
		command(network.Enable, network.EnableParams{}),
		command(network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": lang}}),
		command(emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !o.JavaScript}),
	)
	return p
}

// command is a DevTools protocol command as an action.
func command[P, R any](c cdp.Command[P, R], params P) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, c, params)
		return err
	})
}

func (p *Phone) run(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, Timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("browser: %v", err)
	}
}

// get runs an action that answers a value.
func get[T any](p *Phone, a chromedp.Action[T]) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, Timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		p.t.Fatalf("browser: %v", err)
	}
	return v
}

// navigate runs actions that load a page and records its status.
func (p *Phone) navigate(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, Timeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, actions...)
	if err != nil {
		p.t.Fatalf("browser: %v", err)
	}
	p.Status = 0
	if resp != nil {
		p.Status = int(resp.Status)
	}
}

// Open loads url and waits for its body.
func (p *Phone) Open(url string) {
	p.t.Helper()
	p.navigate(chromedp.Navigate(url))
	p.run(chromedp.WaitReady(chromedp.CSS("body")))
}

// Submit taps the button matching selector (a CSS selector) and waits for
// the page the form's answer loads.
func (p *Phone) Submit(selector string) {
	p.t.Helper()
	p.navigate(chromedp.Click(chromedp.CSS(selector)))
	p.run(chromedp.WaitReady(chromedp.CSS("body")))
}

// Fill types value into the field matching selector.
func (p *Phone) Fill(selector, value string) {
	p.t.Helper()
	p.run(chromedp.SendKeys(chromedp.CSS(selector), value))
}

// Text is the page's text as a person reads it, spaces collapsed.
func (p *Phone) Text() string {
	p.t.Helper()
	return strings.Join(strings.Fields(get(p, chromedp.Text(chromedp.CSS("body")))), " ")
}

// HTML is the page's markup as the browser holds it.
func (p *Phone) HTML() string {
	p.t.Helper()
	return get(p, chromedp.OuterHTML(chromedp.CSS("html")))
}

// Screenshot writes the whole page as a PNG file name in the test's
// screenshot directory (see screenshots).
func (p *Phone) Screenshot(name string) {
	p.t.Helper()
	buf := get(p, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(p.shots, name), buf, 0o644); err != nil {
		p.t.Fatal(err)
	}
}
