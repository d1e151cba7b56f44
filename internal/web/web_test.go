package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

func newEcho() *echo.Echo {
	e := echo.New()
	e.GET("/", Index)
	e.GET("/assets/*", Asset)
	return e
}

func get(e *echo.Echo, target string, headers map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

var assetRef = regexp.MustCompile(`"/assets/([^"]+)"`)

// indexAssets are the asset names index.html refers to.
func indexAssets(t *testing.T) []string {
	t.Helper()
	idx, err := fs.ReadFile(dist, "dist/index.html")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range assetRef.FindAllStringSubmatch(string(idx), -1) {
		names = append(names, m[1])
	}
	if len(names) != 2 {
		t.Fatalf("index.html refers to %d assets (%v), want the script and the stylesheet", len(names), names)
	}
	return names
}

func TestHeaders(t *testing.T) {
	e := newEcho()
	assets := indexAssets(t)
	security := map[string]string{
		"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
			"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
		"X-Frame-Options":        "DENY",
		"Vary":                   "Accept-Encoding",
	}
	tests := []struct {
		name, target, contentType, cache string
	}{
		{"IndexNoCache", "/", "text/html; charset=utf-8", "no-cache"},
		{"ScriptImmutable", "/assets/" + assets[0], "", "public, max-age=31536000, immutable"},
		{"StyleImmutable", "/assets/" + assets[1], "", "public, max-age=31536000, immutable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(e, tt.target, nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d, want 200", rec.Code)
			}
			for k, v := range security {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if got := rec.Header().Get("Cache-Control"); got != tt.cache {
				t.Errorf("Cache-Control = %q, want %q", got, tt.cache)
			}
			want := tt.contentType
			if want == "" {
				want = map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}[filepath.Ext(tt.target)]
			}
			if got := rec.Header().Get("Content-Type"); got != want {
				t.Errorf("Content-Type = %q, want %q", got, want)
			}
			if rec.Header().Get("Content-Encoding") != "" {
				t.Errorf("compressed without Accept-Encoding")
			}
			if rec.Header().Get("ETag") == "" {
				t.Errorf("no ETag")
			}
		})
	}
}

func TestIndexPage(t *testing.T) {
	rec := get(newEcho(), "/", nil)
	body := rec.Body.String()
	for _, want := range []string{`<html lang="en">`, `name="viewport"`, `<script type="module" src="/assets/`} {
		if !strings.Contains(body, want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	// The CSP forbids inline code: the page must not need any.
	for _, bad := range []string{"<script>", "style=", " on" + "click=", "javascript:"} {
		if strings.Contains(body, bad) {
			t.Errorf("index.html contains %q, which the CSP blocks", bad)
		}
	}
}

func TestConditionalAndGzip(t *testing.T) {
	e := newEcho()
	script := "/assets/" + indexAssets(t)[0]
	plain := get(e, script, nil)
	etag := plain.Header().Get("ETag")

	t.Run("IfNoneMatch304", func(t *testing.T) {
		for _, target := range []string{"/", script} {
			tag := get(e, target, nil).Header().Get("ETag")
			rec := get(e, target, map[string]string{"If-None-Match": `"other", ` + tag})
			if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
				t.Fatalf("%s: status %d with %d bytes, want 304 and no body", target, rec.Code, rec.Body.Len())
			}
			if rec.Header().Get("Content-Security-Policy") == "" {
				t.Errorf("%s: 304 without security headers", target)
			}
		}
	})
	t.Run("StaleETag200", func(t *testing.T) {
		if rec := get(e, script, map[string]string{"If-None-Match": `"stale"`}); rec.Code != http.StatusOK {
			t.Fatalf("status %d, want 200", rec.Code)
		}
	})
	t.Run("GzipWhenAccepted", func(t *testing.T) {
		rec := get(e, script, map[string]string{"Accept-Encoding": "br, gzip"})
		if rec.Header().Get("Content-Encoding") != "gzip" || rec.Header().Get("ETag") != etag {
			t.Fatalf("Content-Encoding %q ETag %q, want gzip and %q", rec.Header().Get("Content-Encoding"), rec.Header().Get("ETag"), etag)
		}
		zr, err := gzip.NewReader(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, plain.Body.Bytes()) {
			t.Fatal("gzip body differs from the plain body")
		}
	})
	t.Run("GzipRefused", func(t *testing.T) {
		rec := get(e, script, map[string]string{"Accept-Encoding": "gzip;q=0"})
		if rec.Header().Get("Content-Encoding") != "" {
			t.Fatal("compressed although gzip;q=0")
		}
	})
}

func TestUnknownAsset404(t *testing.T) {
	e := newEcho()
	for _, target := range []string{"/assets/nope.js", "/assets/", "/assets/../index.html", "/assets/..%2fsource.sha256"} {
		if rec := get(e, target, nil); rec.Code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", target, rec.Code)
		}
	}
}

// sourceFiles are the files the bundle is built from, relative to web/.
// Keep in step with ROOT_FILES and walk('src') in web/build.mjs.
func sourceFiles(t *testing.T, webDir string) []string {
	t.Helper()
	files := []string{"build.mjs", "package.json", "package-lock.json", "tsconfig.json"}
	err := filepath.WalkDir(filepath.Join(webDir, "src"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(webDir, p)
		if err != nil {
			return err
		}
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	return files
}

// TestBundleNotStale recomputes the hash build.mjs records in
// dist/source.sha256 from the current sources: a change to web/ without
// `make web` fails here, and no Node is needed to tell.
func TestBundleNotStale(t *testing.T) {
	webDir := filepath.Join("..", "..", "web")
	h := sha256.New()
	for _, f := range sourceFiles(t, webDir) {
		b, err := os.ReadFile(filepath.Join(webDir, filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		h.Write([]byte(f + "\n" + hex.EncodeToString(sum[:]) + "\n"))
	}
	got := hex.EncodeToString(h.Sum(nil))
	recorded, err := fs.ReadFile(dist, "dist/source.sha256")
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSpace(string(recorded)); got != want {
		t.Fatalf("the committed dashboard bundle is stale: web/ sources hash to %s, internal/web/dist was built from %s; "+
			"run `make web` and commit internal/web/dist", got, want)
	}
}

// TestEveryAssetReferenced keeps dist/ free of leftovers from older builds.
func TestEveryAssetReferenced(t *testing.T) {
	refs := indexAssets(t)
	entries, err := fs.ReadDir(dist, "dist/assets")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !slices.Contains(refs, e.Name()) {
			t.Errorf("dist/assets/%s is not referenced by index.html", e.Name())
		}
	}
	for _, r := range refs {
		if _, err := fs.Stat(dist, "dist/assets/"+r); err != nil {
			t.Errorf("index.html refers to missing asset %s", r)
		}
	}
}
