// Package web holds Accord's static assets (CSS, htmx, icons), embedded in
// the binary so Accord works offline and needs no CDN.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"sync"
)

// Static is the static folder: css/, js/, img/.
//
//go:embed static
var Static embed.FS

// StaticFS is Static rooted at the static folder, as served under /static/.
func StaticFS() fs.FS {
	sub, err := fs.Sub(Static, "static")
	if err != nil {
		panic(err) // the folder is embedded at build time
	}
	return sub
}

var assetVersions = sync.OnceValue(func() map[string]string {
	out := map[string]string{}
	_ = fs.WalkDir(StaticFS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(StaticFS(), path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[path] = hex.EncodeToString(sum[:6])
		return nil
	})
	return out
})

// Asset returns the URL of a static file with its content hash, so browsers
// may cache it forever and still get each new version.
func Asset(path string) string {
	if v, ok := assetVersions()[path]; ok {
		return "/static/" + path + "?v=" + v
	}
	return "/static/" + path
}
