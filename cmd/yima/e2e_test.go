package main

// End-to-end tests of the real binary: built once per test binary, run in
// temporary data directories, serving on 127.0.0.1 only.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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
	return yimaWithin(t, 60*time.Second, env, args...)
}

// yimaWithin is yimaEnv with a bound of its own, for commands whose work
// grows with their input (a mint drawing hundreds of QR images in a race
// build takes a minute on a busy machine): the bound catches a hang, it
// does not time the command.
func yimaWithin(t *testing.T, bound time.Duration, env []string, args ...string) result {
	t.Helper()
	// Build (once) before the clock starts: the bound is for the run, and
	// a race build on a busy machine can take most of it.
	bin := binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
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

// mintCodes mints a batch into data by yima mint with args (--product,
// --count, ...) and returns its codes, read back from a txt file of their
// URLs.
func mintCodes(t *testing.T, data string, args ...string) []string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "codes.txt")
	mustYima(t, append(append([]string{"mint", "--data", data}, args...), "--format", "txt", "--out", out)...)
	var codes []string
	for _, l := range readLines(t, out) {
		codes = append(codes, l[strings.LastIndex(l, "/")+1:])
	}
	return codes
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
	return startServeWith(t, data, nil)
}

// startServeWith is startServe with the environment variables env added
// and more flags (a node of a database: --db and the key-encryption key).
// A port taken meanwhile by another process gets two more tries.
func startServeWith(t *testing.T, data string, env []string, flags ...string) *server {
	t.Helper()
	for attempt := 0; ; attempt++ {
		addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		// The tests drive one server hard from one address, as a load test
		// does: the limits would refuse them (scan's tests cover the limits).
		s, err := tryServeAs(t, addr, env, append([]string{"serve", "--data", data, "--addr", addr, "--log-level", "warn", "--no-limits"}, flags...)...)
		if err == nil {
			return s
		}
		if attempt == 2 {
			t.Fatal(err)
		}
		t.Logf("retrying: %v", err)
	}
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
