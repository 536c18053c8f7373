package docs_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeCommandsWorkOnAFreshInstall holds the README's shell examples
// to what a newcomer can run as written: a code to verify comes from the
// codes just minted (a code printed in the README is signed by keys no
// other install has, so it reads as forged), and files the examples write
// go to a scratch directory, never into the repository.
func TestReadmeCommandsWorkOnAFreshInstall(t *testing.T) {
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(raw), -1)
	if len(blocks) == 0 {
		t.Fatal("README.md has no ```sh blocks; update this test's reader")
	}
	literal := regexp.MustCompile(`\bverify\s+["']?[0-9A-Za-z]{27}\b`)
	output := regexp.MustCompile(`--(?:out|qr-dir|o)\s+("?[^\s"]+"?)`)
	outputs := 0
	for _, b := range blocks {
		for _, line := range strings.Split(b[1], "\n") {
			if literal.MatchString(line) {
				t.Errorf("README verifies a literal code, forged on any other install: %s", line)
			}
			for _, m := range output.FindAllStringSubmatch(line, -1) {
				outputs++
				if !strings.HasPrefix(strings.Trim(m[1], `"`), "$OUT/") {
					t.Errorf("README writes %s into the working directory (the repository); write under \"$OUT/\": %s", m[1], line)
				}
			}
		}
	}
	if outputs == 0 {
		t.Error("no --out in README's examples; update this test's reader")
	}
}
