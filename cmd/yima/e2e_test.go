package main

// End-to-end tests of the real binary: built once per test binary, run in
// temporary data directories, serving on 127.0.0.1 only.

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
)

var (
	buildOnce sync.Once
	buildDir  string
	yimaBin   string
	buildErr  error
	// raceBuild builds the binary with -race when the tests run with it
	// (set in race_test.go), so the server's own races show up here too.
	raceBuild bool
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// binary builds yima once and returns its path.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("no go tool in PATH: %w", err)
			return
		}
		buildDir, err = os.MkdirTemp("", "yima-e2e-")
		if err != nil {
			buildErr = err
			return
		}
		yimaBin = filepath.Join(buildDir, "yima")
		args := []string{"build", "-o", yimaBin}
		if raceBuild {
			args = append(args, "-race")
		}
		cmd := exec.Command(goTool, append(args, ".")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return yimaBin
}

// result is one finished run of the binary.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
}

// yima runs the binary with args in a scratch working directory (so that a
// forgotten --data cannot land in the source tree) and no YIMA_* variables.
func yima(t *testing.T, args ...string) result {
	t.Helper()
	return yimaEnv(t, nil, args...)
}

// yimaEnv is yima with the environment variables env added.
func yimaEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(cleanEnv(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("yima %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// cleanEnv is the test's environment without YIMA_* variables. A race
// build otherwise sleeps a second at exit (GORACE atexit_sleep_ms).
func cleanEnv() []string {
	env := []string{"GORACE=atexit_sleep_ms=0 " + os.Getenv("GORACE")}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "YIMA_") && !strings.HasPrefix(kv, "GORACE=") {
			env = append(env, kv)
		}
	}
	return env
}

// mustYima runs the binary and fails the test unless it exits 0.
func mustYima(t *testing.T, args ...string) result {
	t.Helper()
	r := yima(t, args...)
	if r.code != 0 {
		t.Fatalf("yima %s: %v", strings.Join(args, " "), r)
	}
	return r
}

// batchIDs lists the ids yima batch list prints for a data directory.
func batchIDs(t *testing.T, data string, extra ...string) []string {
	t.Helper()
	r := mustYima(t, append([]string{"batch", "list", "--data", data}, extra...)...)
	var ids []string
	for i, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if i == 0 || line == "" {
			continue // header
		}
		ids = append(ids, strings.Fields(line)[0])
	}
	return ids
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
}

// forge changes the last symbol of a code.
func forge(code string) string {
	last := code[len(code)-1]
	sub := byte('0')
	if last == '0' {
		sub = '1'
	}
	return code[:len(code)-1] + string(sub)
}

func TestMintAndVerify(t *testing.T) {
	data := newData(t)
	outDir := t.TempDir()
	csvPath := filepath.Join(outDir, "codes.csv")
	r := mustYima(t, "mint", "--data", data, "--product", "SKU-A", "--count", "20", "--activate", "--points", "7", "--out", csvPath)
	if !strings.Contains(r.stderr, "minted batch 1") {
		t.Errorf("the summary does not name the batch: %q", r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("mint --out wrote to stdout: %q", r.stdout)
	}
	lines := readLines(t, csvPath)
	if len(lines) != 21 || lines[0] != "serial,code,url" {
		t.Fatalf("csv has %d lines starting %q; want a header and 20 codes", len(lines), lines[0])
	}
	for _, p := range []string{filepath.Join(data, "admin.token"), filepath.Join(data, "keys.json")} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v; want 0600", p, err, fi.Mode().Perm())
		}
	}
	var codes []string
	for i, line := range lines[1:] {
		f := strings.Split(line, ",")
		if len(f) != 3 || f[0] != fmt.Sprint(i+1) || f[2] != "HTTPS://YIMA.EXAMPLE/C/"+f[1] {
			t.Fatalf("line %d: %q", i+2, line)
		}
		codes = append(codes, f[1])
	}

	type description struct {
		Genuine bool   `json:"genuine"`
		Code    string `json:"code"`
		Batch   uint32 `json:"batch"`
		Serial  uint32 `json:"serial"`
		Product string `json:"product"`
		State   string `json:"state"`
		Reason  string `json:"reason"`
	}
	for _, tc := range []struct {
		name, text string
		serial     uint32
	}{
		{"canonical", codes[4], 5},
		{"lower case", strings.ToLower(codes[9]), 10},
		{"hyphenated", codes[0][:9] + "-" + codes[0][9:], 1},
	} {
		r := yima(t, "verify", "--data", data, tc.text)
		var d description
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &d) != nil {
			t.Fatalf("verify %s: %v", tc.name, r)
		}
		if !d.Genuine || d.Batch != 1 || d.Serial != tc.serial || d.Product != "SKU-A" || d.State != "active" || d.Code != codes[tc.serial-1] {
			t.Errorf("verify %s: %+v", tc.name, d)
		}
	}
	for _, tc := range []struct{ name, text, reason string }{
		{"forged", forge(codes[3]), "forged"},
		{"truncated", codes[3][:20], "malformed"},
		{"garbage", "HELLO", "malformed"},
	} {
		r := yima(t, "verify", "--data", data, tc.text)
		var d description
		if r.code != 1 || json.Unmarshal([]byte(r.stdout), &d) != nil || d.Genuine || d.Reason != tc.reason {
			t.Errorf("verify %s: want exit 1 and reason %s; %v", tc.name, tc.reason, r)
		}
	}

	// mint to stdout, txt.
	r = mustYima(t, "mint", "--data", data, "--product", "SKU-B", "--count", "5", "--format", "txt")
	if got := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(got) != 5 || !strings.HasPrefix(got[0], "HTTPS://YIMA.EXAMPLE/C/") {
		t.Errorf("txt to stdout: %q", r.stdout)
	}
	if ids := batchIDs(t, data); strings.Join(ids, ",") != "1,2" {
		t.Fatalf("batches after two mints: %v", ids)
	}
}

// TestMintFailures checks that a mint that fails says why, exits non-zero,
// leaves no file under the final name (nor a partial one beside it) and
// records no batch.
func TestMintFailures(t *testing.T) {
	data := newData(t)
	mustYima(t, "mint", "--data", data, "--product", "SKU-A", "--count", "3")
	outDir := t.TempDir()
	existingDir := filepath.Join(outDir, "already-a-directory")
	if err := os.Mkdir(existingDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		out  string
		args []string
		msg  string
	}{
		{"nonexistent directory", filepath.Join(outDir, "no", "such", "dir", "codes.csv"), nil, "cannot write"},
		{"count zero", filepath.Join(outDir, "zero.csv"), []string{"--count", "0"}, "--count"},
		{"negative count", filepath.Join(outDir, "neg.csv"), []string{"--count", "-5"}, "count"},
		{"count beyond the layout", filepath.Join(outDir, "huge.csv"), []string{"--count", "200000000"}, "count"},
		{"bad format", filepath.Join(outDir, "fmt.csv"), []string{"--format", "xlsx"}, "--format"},
		{"no product", filepath.Join(outDir, "noproduct.csv"), []string{"--product", ""}, "--product"},
		{"bad gtin", filepath.Join(outDir, "gtin.csv"), []string{"--gtin", "12AB"}, "gtin"},
		{"out is a directory", existingDir, nil, "directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"mint", "--data", data, "--product", "SKU-F", "--count", "10", "--out", tc.out}
			r := yima(t, append(args, tc.args...)...)
			if r.code == 0 {
				t.Fatalf("mint succeeded: %v", r)
			}
			if !strings.Contains(r.stderr, tc.msg) || !strings.HasPrefix(r.stderr, "yima: ") {
				t.Errorf("stderr %q does not explain (want %q)", r.stderr, tc.msg)
			}
			if tc.out != existingDir {
				if _, err := os.Stat(tc.out); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s exists after a failed mint: %v", tc.out, err)
				}
			} else if fi, err := os.Stat(tc.out); err != nil || !fi.IsDir() {
				t.Errorf("the directory named by --out was replaced: %v", err)
			}
			if ids := batchIDs(t, data); len(ids) != 1 {
				t.Errorf("a failed mint recorded a batch: %v", ids)
			}
		})
	}
	left, _ := filepath.Glob(filepath.Join(outDir, "*"))
	if len(left) != 1 || left[0] != existingDir {
		t.Errorf("failed mints left files behind: %v", left)
	}
	dirLeft, _ := os.ReadDir(existingDir)
	if len(dirLeft) != 0 {
		t.Errorf("failed mints left files in %s: %v", existingDir, dirLeft)
	}
}

// server is a yima serve process.
type server struct {
	t      *testing.T
	cmd    *exec.Cmd
	url    string
	stderr *lockedBuffer
	exited chan struct{}
	err    error // Wait's result, once exited is closed
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startServe runs yima serve on data and waits until /healthz answers.
func startServe(t *testing.T, data string) *server {
	t.Helper()
	for attempt := 0; ; attempt++ {
		s, err := tryServe(t, data)
		if err == nil {
			return s
		}
		if attempt == 2 {
			t.Fatal(err)
		}
		t.Logf("retrying: %v", err)
	}
}

func tryServe(t *testing.T, data string) (*server, error) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	// The tests drive one server hard from one address, as a load test
	// does: the limits would refuse them (scan's tests cover the limits).
	return tryServeAs(t, addr, nil, "serve", "--data", data, "--addr", addr, "--log-level", "warn", "--no-limits")
}

// tryServeAs runs the binary with args and the environment variables env
// added, and waits until it answers /healthz at addr.
func tryServeAs(t *testing.T, addr string, env []string, args ...string) (*server, error) {
	cmd := exec.Command(binary(t), args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(cleanEnv(), env...)
	s := &server{t: t, cmd: cmd, url: "http://" + addr, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		s.err = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			cmd.Process.Kill()
			<-s.exited
		}
	})
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return nil, fmt.Errorf("yima serve exited: %v\n%s", s.err, s.stderr)
		default:
		}
		resp, err := hc.Get(s.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s, nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	<-s.exited
	return nil, fmt.Errorf("yima serve did not answer /healthz within 15s:\n%s", s.stderr)
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *server) kill() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// stop sends SIGTERM and returns the exit, failing after a bound.
func (s *server) stop() error {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return s.err
	case <-time.After(20 * time.Second):
		s.t.Fatalf("yima serve did not stop within 20s of SIGTERM:\n%s", s.stderr)
		return nil
	}
}

func adminToken(t *testing.T, data string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(data, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(raw))
}

// call makes one JSON request; status 0 and an error mean no answer.
func call(hc *http.Client, method, u, token string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, raw, nil
}

func errCode(body []byte) string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	json.Unmarshal(body, &e)
	return e.Error.Code
}

// TestServerMode checks the CLI against a data directory a server holds:
// direct commands refuse with a pointer to --server, and --server works.
func TestServerMode(t *testing.T) {
	data := newData(t)
	mustYima(t, "mint", "--data", data, "--product", "SKU-A", "--count", "3", "--activate")
	admin := adminToken(t, data)
	srv := startServe(t, data)

	outDir := t.TempDir()
	for _, args := range [][]string{
		{"batch", "list", "--data", data},
		{"token", "create", "--role", "app", "--data", data},
		{"mint", "--data", data, "--product", "SKU-B", "--count", "5", "--out", filepath.Join(outDir, "direct.txt")},
	} {
		r := yima(t, args...)
		if r.code == 0 || !strings.Contains(r.stderr, "--server") {
			t.Errorf("yima %s while a server runs: want non-zero exit and a pointer to --server; %v", strings.Join(args[:2], " "), r)
		}
	}
	if left, _ := os.ReadDir(outDir); len(left) != 0 {
		t.Errorf("a refused direct mint left files: %v", left)
	}

	if ids := batchIDs(t, data, "--server", srv.url, "--token", admin); strings.Join(ids, ",") != "1" {
		t.Errorf("batch list --server: %v", ids)
	}
	r := yima(t, "batch", "list", "--server", srv.url, "--token", "yt_wrong")
	if r.code == 0 || !strings.Contains(r.stderr, "unauthorized") {
		t.Errorf("batch list with a wrong token: %v", r)
	}
	r = yima(t, "batch", "list", "--server", srv.url)
	if r.code == 0 || !strings.Contains(r.stderr, "token") {
		t.Errorf("batch list --server without a token: %v", r)
	}

	r = mustYima(t, "token", "create", "--role", "app", "--name", "mini-program", "--server", srv.url, "--token", admin)
	appToken := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(appToken, "yt_") || strings.Contains(appToken, "\n") {
		t.Fatalf("token create printed %q", r.stdout)
	}

	txt := filepath.Join(outDir, "remote.txt")
	r = mustYima(t, "mint", "--server", srv.url, "--token", admin, "--product", "SKU-R", "--count", "50", "--format", "txt", "--activate", "--out", txt)
	if !strings.Contains(r.stderr, "minted batch 2") {
		t.Errorf("remote mint summary: %q", r.stderr)
	}
	lines := readLines(t, txt)
	if len(lines) != 50 {
		t.Fatalf("remote mint wrote %d lines, want 50", len(lines))
	}
	seen := map[string]bool{}
	for _, l := range lines {
		code, ok := strings.CutPrefix(l, "HTTPS://YIMA.EXAMPLE/C/")
		if !ok || len(code) != 27 || seen[code] {
			t.Fatalf("bad or repeated line %q", l)
		}
		seen[code] = true
	}
	code := strings.TrimPrefix(lines[17], "HTTPS://YIMA.EXAMPLE/C/")

	// Offline verification still works while the server holds the data.
	r = mustYima(t, "verify", "--data", data, code)
	if !strings.Contains(r.stdout, `"genuine": true`) || !strings.Contains(r.stdout, `"serial": 18`) {
		t.Errorf("verify while serving: %v", r)
	}

	hc := &http.Client{Timeout: 10 * time.Second}
	status, body, err := call(hc, "POST", srv.url+"/v1/scans", appToken, map[string]string{"code": code, "member": "m-cli"})
	if err != nil || status != 200 {
		t.Fatalf("scan with the CLI-made app token: %d %s %v", status, body, err)
	}
	status, body, _ = call(hc, "POST", srv.url+"/v1/batches", appToken, map[string]any{"product": "X", "count": 1})
	if status != 403 {
		t.Errorf("app token made a batch: %d %s", status, body)
	}
	// A factory token mints and prints, but what codes pay is the brand's:
	// without --points its batch gets the default, with it the server says no.
	r = mustYima(t, "token", "create", "--role", "factory", "--server", srv.url, "--token", admin)
	factory := strings.TrimSpace(r.stdout)
	r = mustYima(t, "mint", "--server", srv.url, "--token", factory, "--product", "SKU-F", "--count", "2", "--out", filepath.Join(outDir, "factory.txt"))
	if !strings.Contains(r.stderr, "minted batch 3") {
		t.Errorf("factory mint summary: %q", r.stderr)
	}
	r = yima(t, "mint", "--server", srv.url, "--token", factory, "--product", "SKU-F", "--count", "2", "--points", "500", "--out", filepath.Join(outDir, "rich.txt"))
	if r.code == 0 || !strings.Contains(r.stderr, "forbidden") {
		t.Errorf("factory mint with --points: want forbidden, got %v", r)
	}
	// The app token leaks: the operator finds it in the list (by id, no
	// secret shown) and revokes it; the server refuses it at once.
	r = mustYima(t, "token", "list", "--server", srv.url, "--token", admin)
	appID := reward.TokenID(appToken)
	if !strings.Contains(r.stdout, appID+"  app       mini-program") || strings.Contains(r.stdout, "yt_") {
		t.Errorf("token list --server: want %s as app mini-program and no secrets; got\n%s", appID, r.stdout)
	}
	r = mustYima(t, "token", "revoke", appID, "--server", srv.url, "--token", admin)
	if !strings.Contains(r.stdout, `"name": "mini-program"`) {
		t.Errorf("token revoke printed %q", r.stdout)
	}
	status, body, _ = call(hc, "GET", srv.url+"/v1/members/m-cli", appToken, nil)
	if status != 401 {
		t.Errorf("revoked app token: %d %s, want 401", status, body)
	}
	// The printed URL, as a phone would open it: Chinese unless the
	// browser asks for English.
	status, body, _ = call(hc, "GET", srv.url+"/C/"+code, "", nil)
	if status != 200 || !bytes.Contains(body, []byte("奖励已被领取")) {
		t.Errorf("landing page of the redeemed code: %d %.200s", status, body)
	}
	status, body, _ = call(hc, "GET", srv.url+"/C/"+code+"?lang=en", "", nil)
	if status != 200 || !bytes.Contains(body, []byte("already redeemed")) {
		t.Errorf("English landing page of the redeemed code: %d %.200s", status, body)
	}
	hc.CloseIdleConnections()

	// SIGTERM: a clean exit, and the directory is free again.
	if err := srv.stop(); err != nil {
		t.Errorf("yima serve after SIGTERM: %v\n%s", err, srv.stderr)
	}
	if ids := batchIDs(t, data); strings.Join(ids, ",") != "1,2,3" {
		t.Errorf("batches after the server stopped: %v", ids)
	}
	// Directly on the data directory too.
	mustYima(t, "token", "revoke", reward.TokenID(factory), "--data", data)
	if r := mustYima(t, "token", "list", "--data", data); strings.Contains(r.stdout, reward.TokenID(factory)) || strings.Contains(r.stdout, appID) {
		t.Errorf("token list after both revocations:\n%s", r.stdout)
	}
	if r := yima(t, "token", "revoke", reward.TokenID(factory), "--data", data); r.code == 0 || !strings.Contains(r.stderr, "not_found") {
		t.Errorf("revoking twice: %v", r)
	}
}

// attempt is one scan a client sent during a burst.
type attempt struct {
	code, member string
	status       int // 0: no answer (the server died first)
	errCode      string
	points       int64
}

// TestKillDuringBurst SIGKILLs the server in the middle of a burst of
// concurrent scans, restarts it, and checks that everything the clients were
// told survived: every 200 is redeemed, for the member who got it, with
// their points; every 409 rests on a redemption; no code has two winners;
// and the only payouts no client heard of are those whose request got no
// answer at all.
func TestKillDuringBurst(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a server process; skipped in -short")
	}
	data := newData(t)
	outDir := t.TempDir()
	// Two batches with different points, so that a balance shows which
	// codes it was paid for.
	var codes []string
	points := map[string]int64{}
	for i, p := range []int64{10, 3} {
		f := filepath.Join(outDir, fmt.Sprintf("b%d.csv", i))
		mustYima(t, "mint", "--data", data, "--product", "SKU-K", "--count", "1500", "--activate", "--points", fmt.Sprint(p), "--out", f)
		for _, line := range readLines(t, f)[1:] {
			c := strings.Split(line, ",")[1]
			codes = append(codes, c)
			points[c] = p
		}
	}
	// Interleave the batches.
	mixed := make([]string, 0, len(codes))
	for i := 0; i < len(codes)/2; i++ {
		mixed = append(mixed, codes[i], codes[len(codes)/2+i])
	}
	codes = mixed
	admin := adminToken(t, data)
	const members = 16

	var all []attempt
	// Kill after these many acknowledged scans: early, middle, late.
	killAfter := []int{30, 300, 700}
	next := 0
	for round, after := range killAfter {
		n := 1000
		roundCodes := codes[next : next+n]
		next += n
		srv := startServe(t, data)
		got := burst(t, srv, admin, roundCodes, members, round, after)
		all = append(all, got...)
		acked := 0
		for _, a := range got {
			if a.status == 200 {
				acked++
			}
		}
		t.Logf("round %d: killed after %d acknowledged scans of %d attempts", round, acked, len(got))
		if acked < after {
			t.Fatalf("round %d: only %d scans acknowledged before the kill; the burst did not run", round, acked)
		}
		srv2 := startServe(t, data)
		checkAfterKill(t, srv2, admin, all, points, members)
		srv2.kill() // the next round starts from a kill too
	}
}

// burst scans codes from 32 goroutines, some codes by two members at once,
// and SIGKILLs srv once killAfter scans were acknowledged. It returns every
// attempt made.
func burst(t *testing.T, srv *server, admin string, codes []string, members, round, killAfter int) []attempt {
	type job struct{ code, member string }
	jobs := make(chan job, 2*len(codes))
	for i, c := range codes {
		jobs <- job{c, fmt.Sprintf("m%02d", (i+round)%members)}
		if i%4 == 0 { // contested: a second member scans the same code
			jobs <- job{c, fmt.Sprintf("m%02d", (i+round+7)%members)}
		}
	}
	close(jobs)
	hc := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64},
	}
	defer hc.CloseIdleConnections()
	var (
		mu      sync.Mutex
		out     []attempt
		acked   int
		killed  = make(chan struct{})
		killing sync.Once
		wg      sync.WaitGroup
	)
	kill := func() {
		killing.Do(func() {
			srv.kill()
			close(killed)
		})
	}
	for range 32 {
		wg.Go(func() {
			for j := range jobs {
				select {
				case <-killed:
					return
				default:
				}
				status, body, err := call(hc, "POST", srv.url+"/v1/scans", admin, map[string]string{"code": j.code, "member": j.member})
				a := attempt{code: j.code, member: j.member, status: status}
				if err == nil {
					a.errCode = errCode(body)
					if status == 200 {
						var res struct {
							Result string `json:"result"`
							Code   string `json:"code"`
							Points int64  `json:"points"`
						}
						if json.Unmarshal(body, &res) != nil || res.Result != "redeemed" || res.Code != j.code {
							t.Errorf("a 200 that is not a redemption of %s: %s", j.code, body)
						}
						a.points = res.Points
					}
				}
				mu.Lock()
				out = append(out, a)
				if status == 200 {
					acked++
				}
				n := acked
				mu.Unlock()
				if n >= killAfter {
					go kill() // not on this goroutine: the others keep scanning into the kill
				}
			}
		})
	}
	wg.Wait()
	kill() // in case the burst ended first
	return out
}

// checkAfterKill compares what the restarted server says with what the
// clients heard.
func checkAfterKill(t *testing.T, srv *server, admin string, all []attempt, points map[string]int64, members int) {
	t.Helper()
	hc := &http.Client{Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()

	winners := map[string]string{}     // code → member that got the 200
	unanswered := map[[2]string]bool{} // (code, member) sent with no answer
	conflicted := map[string]bool{}    // codes a client got 409 for
	paid := map[string]int64{}         // member → points of their 200s
	for _, a := range all {
		switch {
		case a.status == 200:
			if w, ok := winners[a.code]; ok {
				t.Errorf("code %s acknowledged to two members: %s and %s", a.code, w, a.member)
			}
			winners[a.code] = a.member
			paid[a.member] += a.points
			if a.points != points[a.code] {
				t.Errorf("code %s paid %d, its batch pays %d", a.code, a.points, points[a.code])
			}
		case a.status == 0:
			unanswered[[2]string{a.code, a.member}] = true
		case a.status == 409 && a.errCode == "already_redeemed":
			conflicted[a.code] = true
		default:
			t.Errorf("unexpected answer to a scan of %s: %d %s", a.code, a.status, a.errCode)
		}
	}

	// Every member's whole ledger, page by page.
	ledgerOwner := map[string]string{} // code → member whose ledger pays it
	landed := 0                        // unanswered scans that were paid
	defer func() {
		t.Logf("after the kill: %d acknowledged, %d conflicts, %d unanswered of which %d landed",
			len(winners), len(conflicted), len(unanswered), landed)
	}()
	for i := range members {
		member := fmt.Sprintf("m%02d", i)
		var balance, sum, mayAdd int64
		cursor := ""
		for page := 0; ; page++ {
			u := srv.url + "/v1/members/" + member + "?limit=200"
			if cursor != "" {
				u += "&cursor=" + url.QueryEscape(cursor)
			}
			status, body, err := call(hc, "GET", u, admin, nil)
			if status == 404 && page == 0 {
				break // no account: nothing was paid to them
			}
			if err != nil || status != 200 {
				t.Fatalf("GET member %s: %d %s %v", member, status, body, err)
			}
			var v struct {
				Points int64 `json:"points"`
				Ledger []struct {
					Account string `json:"account"`
					Delta   int64  `json:"delta"`
					Reason  string `json:"reason"`
					Code    string `json:"code"`
				} `json:"ledger"`
				Next string `json:"next"`
			}
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatal(err)
			}
			if page == 0 {
				balance = v.Points
			}
			for _, e := range v.Ledger {
				if e.Account != "points" {
					continue
				}
				sum += e.Delta
				if e.Reason != "scan" {
					t.Errorf("%s: unexpected ledger entry %+v", member, e)
					continue
				}
				if prev, ok := ledgerOwner[e.Code]; ok {
					t.Errorf("code %s paid twice: to %s and %s", e.Code, prev, member)
				}
				ledgerOwner[e.Code] = member
				if e.Delta != points[e.Code] {
					t.Errorf("%s: code %s paid %d, want %d", member, e.Code, e.Delta, points[e.Code])
				}
				switch {
				case winners[e.Code] == member:
				case unanswered[[2]string{e.Code, member}]:
					mayAdd += e.Delta // in flight at the kill: it may land
					landed++
				default:
					t.Errorf("%s was paid for %s, but their scan of it was not acknowledged (winner %q)", member, e.Code, winners[e.Code])
				}
			}
			if v.Next == "" {
				break
			}
			cursor = v.Next
		}
		if balance != sum {
			t.Errorf("%s: balance %d, ledger sums to %d", member, balance, sum)
		}
		if balance != paid[member]+mayAdd {
			t.Errorf("%s: balance %d, acknowledged %d (+%d in flight at a kill)", member, balance, paid[member], mayAdd)
		}
	}
	for code, member := range winners {
		if ledgerOwner[code] != member {
			t.Errorf("acknowledged scan of %s by %s lost after SIGKILL (ledger says %q)", code, member, ledgerOwner[code])
		}
	}
	// The public status agrees, for every code a client heard about.
	check := map[string]bool{}
	for code := range winners {
		check[code] = true
	}
	for code := range conflicted {
		check[code] = true
	}
	for code := range check {
		status, body, err := call(hc, "GET", srv.url+"/v1/codes/"+code, "", nil)
		var st struct {
			Redeemed bool `json:"redeemed"`
		}
		if err != nil || status != 200 || json.Unmarshal(body, &st) != nil {
			t.Fatalf("GET code %s: %d %s %v", code, status, body, err)
		}
		if !st.Redeemed {
			t.Errorf("code %s: a client was told it is redeemed (200 or 409), the restarted server says not", code)
		}
	}
}

// TestMintImages draws one image per code into a directory (named with a
// trailing slash, as people type it) and into a zip archive.
func TestMintImages(t *testing.T) {
	data := newData(t)
	out := t.TempDir()
	dir := filepath.Join(out, "labels")
	mustYima(t, "mint", "--data", data, "--product", "SKU-Q", "--count", "3", "--format", "txt",
		"--out", filepath.Join(out, "codes.txt"), "--qr", "svg", "--qr-dir", dir+"/")
	files, err := os.ReadDir(dir)
	if err != nil || len(files) != 3 || !strings.HasSuffix(files[0].Name(), ".svg") {
		t.Fatalf("image directory: %v, %d files; want 3 SVG files", err, len(files))
	}
	zipPath := filepath.Join(out, "dm.zip")
	mustYima(t, "mint", "--data", data, "--product", "SKU-Q", "--count", "2", "--qr", "png",
		"--symbology", "datamatrix", "--qr-dir", zipPath)
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 2 || !strings.HasSuffix(zr.File[0].Name, ".png") {
		t.Fatalf("archive holds %d files; want 2 PNG files", len(zr.File))
	}
}

// TestGuideShowPages follows yima guide show's cursors through a guide's
// bound members, against a running server.
func TestGuideShowPages(t *testing.T) {
	data := newData(t)
	mustYima(t, "mint", "--data", data, "--product", "SKU-A", "--count", "1")
	admin := adminToken(t, data)
	srv := startServe(t, data)
	defer srv.stop()
	remote := []string{"--server", srv.url, "--token", admin}
	mustYima(t, append([]string{"guide", "add", "--id", "G1", "--store", "S1"}, remote...)...)
	hc := &http.Client{Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()
	want := []string{"m1", "m2", "m3", "m4", "m5"}
	for _, m := range want {
		if status, body, err := call(hc, "POST", srv.url+"/v1/members/"+m+"/guide", admin, map[string]string{"guide": "G1"}); err != nil || status != 200 {
			t.Fatalf("binding %s: %d %s %v", m, status, body, err)
		}
	}
	var got []string
	args := append([]string{"guide", "show", "G1", "--limit", "2"}, remote...)
	for range 5 {
		var v struct {
			Bound []string `json:"bound_members"`
			Next  string   `json:"next_members"`
		}
		r := mustYima(t, args...)
		if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
			t.Fatalf("guide show printed %q: %v", r.stdout, err)
		}
		got = append(got, v.Bound...)
		if v.Next == "" {
			break
		}
		args = append([]string{"guide", "show", "G1", "--limit", "2", "--members-after", v.Next}, remote...)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("bound members over the pages: %v, want %v", got, want)
	}

	// G1 leaves; G2 takes the five members.
	mustYima(t, append([]string{"guide", "add", "--id", "G2", "--store", "S1"}, remote...)...)
	r := mustYima(t, append([]string{"guide", "leave", "G1", "--to", "G2"}, remote...)...)
	var left struct {
		Moved int `json:"moved"`
		Guide struct {
			Successor string `json:"successor"`
		} `json:"guide"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &left); err != nil || left.Moved != 5 || left.Guide.Successor != "G2" {
		t.Fatalf("guide leave printed %q: %v", r.stdout, err)
	}
	if r := yima(t, append([]string{"guide", "leave", "G1", "--to", "G9"}, remote...)...); r.code == 0 || !strings.Contains(r.stderr, "guide_left") {
		t.Errorf("leaving again for another successor: %v", r)
	}
}

// TestBackupCommand backs a data directory up directly and through a
// running server, and reads each copy as a data directory of its own.
func TestBackupCommand(t *testing.T) {
	data := newData(t)
	mustYima(t, "mint", "--data", data, "--product", "SKU-A", "--count", "3", "--activate")
	direct := filepath.Join(t.TempDir(), "direct")
	mustYima(t, "backup", "--data", data, direct)
	if ids := batchIDs(t, direct); strings.Join(ids, ",") != "1" {
		t.Errorf("batches in the direct backup: %v", ids)
	}
	if r := yima(t, "backup", "--data", data, direct); r.code == 0 || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("a backup into an existing directory: %v", r)
	}

	admin := adminToken(t, data)
	srv := startServe(t, data)
	mustYima(t, "mint", "--server", srv.url, "--token", admin, "--product", "SKU-B", "--count", "2", "--out", filepath.Join(t.TempDir(), "b.txt"))
	remote := filepath.Join(t.TempDir(), "remote")
	mustYima(t, "backup", "--server", srv.url, "--token", admin, remote)
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	if ids := batchIDs(t, remote); strings.Join(ids, ",") != "1,2" {
		t.Errorf("batches in the backup made by the server: %v", ids)
	}
	if tok := adminToken(t, remote); tok != admin {
		t.Errorf("the backup's admin token differs")
	}
}

// TestBatchLabels writes label sheets directly and through a running
// server with a factory token, and refuses a range the batch lacks without
// leaving a file.
func TestBatchLabels(t *testing.T) {
	data := newData(t)
	mustYima(t, "mint", "--data", data, "--product", "SKU-A", "--count", "45")
	dir := t.TempDir()
	pages := func(path string) int {
		t.Helper()
		raw, err := os.ReadFile(path)
		if err != nil || !bytes.HasPrefix(raw, []byte("%PDF-")) {
			t.Fatalf("%s is not a PDF: %v", path, err)
		}
		return len(regexp.MustCompile(`/Type /Page\b[^s]`).FindAll(raw, -1))
	}
	all := filepath.Join(dir, "all.pdf")
	mustYima(t, "batch", "labels", "1", "--data", data, "--out", all)
	if n := pages(all); n != 2 {
		t.Errorf("45 labels at 40 a page: %d pages", n)
	}
	bad := filepath.Join(dir, "bad.pdf")
	if r := yima(t, "batch", "labels", "1", "--data", data, "--from", "41", "--to", "50", "--out", bad); r.code == 0 || !strings.Contains(r.stderr, "not within") {
		t.Errorf("labels beyond the batch: %v", r)
	}
	if _, err := os.Stat(bad); err == nil {
		t.Error("a refused label sheet left a file")
	}

	admin := adminToken(t, data)
	srv := startServe(t, data)
	defer srv.stop()
	factory := strings.TrimSpace(mustYima(t, "token", "create", "--role", "factory", "--server", srv.url, "--token", admin).stdout)
	some := filepath.Join(dir, "some.pdf")
	mustYima(t, "batch", "labels", "1", "--server", srv.url, "--token", factory, "--from", "1", "--to", "4", "--columns", "2", "--rows", "2", "--out", some)
	if n := pages(some); n != 1 {
		t.Errorf("4 labels at 4 a page, through the server: %d pages", n)
	}
}

// TestMintToAPipe mints into a named pipe, as into a printer's port: the
// codes arrive through it, and it is still a pipe afterwards rather than a
// plain file renamed over it.
func TestMintToAPipe(t *testing.T) {
	data := newData(t)
	fifo := filepath.Join(t.TempDir(), "printer")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	got := make(chan []byte, 1)
	go func() {
		raw, _ := os.ReadFile(fifo)
		got <- raw
	}()
	mustYima(t, "mint", "--data", data, "--product", "SKU-A", "--count", "5", "--format", "txt", "--out", fifo)
	select {
	case raw := <-got:
		if lines := strings.Split(strings.TrimSpace(string(raw)), "\n"); len(lines) != 5 {
			t.Errorf("read %d lines through the pipe: %q", len(lines), raw)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("nothing came through the pipe")
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("after the mint the pipe is %v, %v", fi.Mode(), err)
	}
}

// TestFlagsCommand: goods redeemed outside their region are listed for
// review, through the server and on the data directory alike.
func TestFlagsCommand(t *testing.T) {
	data := newData(t)
	codes := filepath.Join(t.TempDir(), "codes.txt")
	mustYima(t, "mint", "--data", data, "--product", "SKU-E", "--count", "3", "--activate", "--region", "east", "--format", "txt", "--out", codes)
	code := strings.TrimPrefix(readLines(t, codes)[1], "HTTPS://YIMA.EXAMPLE/C/")
	admin := adminToken(t, data)
	srv := startServe(t, data)
	hc := &http.Client{Timeout: 10 * time.Second}
	if status, body, err := call(hc, "POST", srv.url+"/v1/scans", admin, map[string]string{"code": code, "member": "m1", "region": "west"}); err != nil || status != 200 {
		t.Fatalf("diverted scan: %d %s %v", status, body, err)
	}
	// The pallet with serial 3 ships north: a scan of it in the east,
	// where the batch was meant to go, is diverted all the same.
	mustYima(t, "batch", "activate", "1", "--from", "3", "--to", "3", "--region", "north", "--server", srv.url, "--token", admin)
	third := strings.TrimPrefix(readLines(t, codes)[2], "HTTPS://YIMA.EXAMPLE/C/")
	if status, body, err := call(hc, "POST", srv.url+"/v1/scans", admin, map[string]string{"code": third, "member": "m2", "region": "east"}); err != nil || status != 200 {
		t.Fatalf("scan of the northern pallet: %d %s %v", status, body, err)
	}
	hc.CloseIdleConnections()
	want := code + "      1         2  SKU-E            scanned in west, meant for east, by m1"
	r := mustYima(t, "flags", "--kind", "diverted", "--server", srv.url, "--token", admin)
	if !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, third+"      1         3  SKU-E            scanned in east, meant for north, by m2") {
		t.Errorf("flags --server:\n%s\nwant a line with %q and one for %s", r.stdout, want, third)
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	if r := mustYima(t, "flags", "--data", data, "--kind", "many_scanners"); strings.Contains(r.stdout, code) {
		t.Errorf("flags --kind many_scanners listed the diverted code:\n%s", r.stdout)
	}
	if r := mustYima(t, "flags", "--data", data); !strings.Contains(r.stdout, want) {
		t.Errorf("flags on the data directory:\n%s", r.stdout)
	}
}
