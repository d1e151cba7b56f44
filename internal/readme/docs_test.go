package readme

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocsAreSelfContained: the README and docs/ point only at files of the
// repository (every relative link resolves), name the design document that is
// here (docs/design.md), and cite no document a reader of the repository
// cannot open (a DESIGN.md, ../shared/...).
func TestDocsAreSelfContained(t *testing.T) {
	docs, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	files := append([]string{"../../README.md"}, docs...)
	if len(files) < 5 {
		t.Fatalf("found only %v", files)
	}
	link := regexp.MustCompile(`\]\(([^)#\s]+)(#[^)\s]*)?\)`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		name := strings.TrimPrefix(f, "../../")
		for _, banned := range []string{"DESIGN.md", "../shared", "shared/vectors", "STYLE.md", "HELPERS.md"} {
			if strings.Contains(text, banned) {
				t.Errorf("%s cites %s, which is not in the repository", name, banned)
			}
		}
		for _, m := range link.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(f), target)); err != nil {
				t.Errorf("%s links to %s, which does not exist", name, target)
			}
		}
	}
	readme, _ := os.ReadFile("../../README.md")
	decisions, _ := os.ReadFile("../../docs/decisions.md")
	if !strings.Contains(string(readme), "](docs/design.md)") || !strings.Contains(string(decisions), "](design.md)") {
		t.Error("README.md and docs/decisions.md must point to docs/design.md")
	}
	design, err := os.ReadFile("../../docs/design.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, section := range []string{"## 2. HTTP API", "## 3. Signatures", "## 4. API keys", "## 5. Rate limits", "## 6. Settlement", "## 8. Security model", "## Round 2 at a glance"} {
		if !strings.Contains(string(design), "\n"+section+"\n") {
			t.Errorf("docs/design.md has no %q section", section)
		}
	}
}
