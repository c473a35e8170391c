// Package static holds the browser assets that the app serves under /static/:
// app.css, app.js and vendor/ (htmx.min.js, its SSE extension sse.min.js and Sortable.min.js).
//
// vendor/ is git-ignored and filled from node_modules by `make vendor`
// (npm ci, then a copy of the pinned packages' files), which the build and
// test targets run first: a build without it fails at the go:embed line.
package static

import "embed"

// FS holds app.css, forecasting.css, app.js, favicon.svg and vendor/*.
//
//go:embed app.css forecasting.css app.js favicon.svg vendor
var FS embed.FS
