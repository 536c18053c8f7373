package printtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// NeedTools skips tb when one of the commands tools is not installed, or
// fails it under YIMA_REQUIRE_BROWSER.
func NeedTools(tb testing.TB, tools ...string) {
	tb.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("YIMA_REQUIRE_BROWSER") != "" {
				tb.Fatalf("YIMA_REQUIRE_BROWSER is set but %s is not installed; run scripts/install-test-deps.sh", tool)
			}
			tb.Skipf("%s is not installed (scripts/install-test-deps.sh installs it); set YIMA_REQUIRE_BROWSER=1 to fail instead", tool)
		}
	}
}

// DecodeQR decodes every QR symbol in the image files given, one text a
// symbol.
func DecodeQR(tb testing.TB, files ...string) []string {
	tb.Helper()
	out, err := exec.Command("zbarimg", append([]string{"--quiet", "--raw", "-Sdisable", "-Sqrcode.enable"}, files...)...).Output()
	if err != nil {
		tb.Fatalf("zbarimg %v: %v", files, err)
	}
	var texts []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			texts = append(texts, l)
		}
	}
	return texts
}

// RenderPages renders each page of the PDF file pdf as a PNG image at dpi
// dots per inch and returns the images' paths, in page order.
func RenderPages(tb testing.TB, pdf string, dpi int) []string {
	tb.Helper()
	dir := tb.TempDir()
	if out, err := exec.Command("pdftoppm", "-r", strconv.Itoa(dpi), "-png", pdf, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		tb.Fatalf("pdftoppm %s: %v\n%s", pdf, err, out)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "page*.png"))
	return pages
}
