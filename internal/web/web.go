// Package web serves the wallet dashboard at / and /assets/*. The page is
// built from web/ by `make web` into dist/, which is committed and embedded,
// so the gateway serves it with no Node.js at run time and no CDN.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
)

//go:embed dist
var dist embed.FS

// CSP is the page's Content-Security-Policy: only this origin's scripts,
// styles and API; no inline code, no framing, no form posts.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// Cache policies: assets have content hashes in their names, the page does not.
const (
	cacheImmutable  = "public, max-age=31536000, immutable"
	cacheRevalidate = "no-cache"
)

// file is one embedded file, ready to serve.
type file struct {
	body  []byte
	gz    []byte // nil when compression does not pay
	ctype string
	etag  string
}

type site struct {
	index  *file
	assets map[string]*file // by name under dist/assets
}

var load = sync.OnceValues(func() (*site, error) { return loadSite(dist) })

func loadSite(fsys fs.FS) (*site, error) {
	s := &site{assets: make(map[string]*file)}
	idx, err := fs.ReadFile(fsys, "dist/index.html")
	if err != nil {
		return nil, fmt.Errorf("web: read index.html: %w", err)
	}
	s.index = newFile("index.html", idx)
	entries, err := fs.ReadDir(fsys, "dist/assets")
	if err != nil {
		return nil, fmt.Errorf("web: read assets: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := fs.ReadFile(fsys, "dist/assets/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("web: read asset %s: %w", e.Name(), err)
		}
		s.assets[e.Name()] = newFile(e.Name(), b)
	}
	return s, nil
}

func newFile(name string, body []byte) *file {
	sum := sha256.Sum256(body)
	f := &file{body: body, ctype: contentType(name), etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
	if strings.HasPrefix(f.ctype, "text/") && len(body) > 1024 {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(body)
		_ = zw.Close()
		if buf.Len() < len(body) {
			f.gz = buf.Bytes()
		}
	}
	return f
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// SecurityHeaders are set on the page and its assets.
func SecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}

// Index serves the dashboard page: GET /.
func Index(c echo.Context) error {
	s, err := load()
	if err != nil {
		return err
	}
	return serve(c, s.index, cacheRevalidate)
}

// Asset serves a built asset: GET /assets/*. Unknown names are the API's 404.
func Asset(c echo.Context) error {
	s, err := load()
	if err != nil {
		return err
	}
	f, ok := s.assets[c.Param("*")]
	if !ok {
		return echo.ErrNotFound
	}
	return serve(c, f, cacheImmutable)
}

func serve(c echo.Context, f *file, cache string) error {
	h := c.Response().Header()
	SecurityHeaders(h)
	h.Set("Cache-Control", cache)
	h.Set("ETag", f.etag)
	h.Set("Vary", "Accept-Encoding")
	if match := c.Request().Header.Get("If-None-Match"); match != "" && etagMatches(match, f.etag) {
		return c.NoContent(http.StatusNotModified)
	}
	body := f.body
	if f.gz != nil && acceptsGzip(c.Request().Header.Get("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		body = f.gz
	}
	// A declared length lets HEAD answer it too (net/http cannot count a body it drops).
	h.Set(echo.HeaderContentLength, strconv.Itoa(len(body)))
	return c.Blob(http.StatusOK, f.ctype, body)
}

func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") {
			return strings.ReplaceAll(strings.TrimSpace(params), " ", "") != "q=0"
		}
	}
	return false
}
