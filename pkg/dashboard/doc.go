// Package dashboard is the collector's own web page, embedded in the
// binary: an overview of the traffic per interface, the client list and
// each client's detail, the workers with start and stop, and the live
// session stream.
//
// # Serving
//
// New reads the embedded files (assets/) once, compresses each with gzip
// at the best level and hashes it; Handler then serves GET and HEAD of
//
//	/                  302 to ui/ (relative)
//	/ui/               index.html: Cache-Control: no-cache, ETag
//	/ui/s/<version>/…  the style sheet, the modules, the chart library, the icon:
//	                   Cache-Control: public, max-age=31536000, immutable
//
// where <version> is the hash of every file of the page (Handler.Version),
// so a browser keeps each file for a year and a new build is fetched
// whole. Each file is sent in gzip when the client accepts it, with its own
// ETag per encoding and Vary: Accept-Encoding; a matching If-None-Match
// gets 304. Content types come from a fixed table: a file of another kind
// fails New instead of being served with a guessed type.
//
// The whole page — index.html and every file it loads — is 126 KB, 51 KB
// (50,922 bytes) in gzip, of which uPlot is 22 KB; TestPageIsSmall holds it
// under 80 KB and logs the figure.
//
// First paint, measured with `go run ./scripts/browse timing` (a fresh
// browser profile per load) against ntp-collector on a database of
// 1,000,000 clients over 8 interfaces, on this 2-core machine at a load
// average of 9–12 (2026-12-02): first contentful paint 104–236 ms (median
// of 5 per view and run); the clients view's first page on screen 250–393
// ms; the overview's interface table 299–436 ms, except on the first load
// after the collector starts, when the interface statistics are computed
// from every client row (6.9–7.9 s here; the traffic series of issue 11
// replaces that computation) — the page paints and says it is loading
// meanwhile.
//
// # No network, any prefix, a strict policy
//
// Every address in the page is relative: the files (s/<version>/…), the
// module imports (./api.js) and the API, whose base is derived from the
// page's own location (…/ui/ → …/api/ntp/…). So the page loads nothing
// from anywhere but the collector that served it, works offline, and works
// behind a reverse proxy that maps any prefix (https://proxy/ntp/ →
// http://collector/) as long as the prefix ends in a slash. There is no
// build step and nothing to fetch at build time: `go build` embeds the
// files as they are in the tree.
//
// The page runs under ContentSecurityPolicy (default-src 'none',
// script-src, style-src and connect-src 'self', frame-ancestors 'none'):
// no inline script or style, no eval, no inline event handler; scripts set
// style properties, which the policy allows. Values from the API reach the
// page as text nodes, never as markup: a reference ID or KoD code is
// whatever a forged packet said. TestPageKeepsAStrictPolicy and
// TestPageStaysOnItsHost read the files and fail on any breach.
//
// # Plain modules, uPlot
//
// The page is plain HTML, CSS and JavaScript modules (assets/js, one module
// per view, no framework, no build step): five views of tables, forms and
// charts need no framework's runtime, and without a bundler the files in
// the tree are the files served — readable in the browser, diffable in
// review. Hash routing (#/overview, #/clients?ip=…, #/client/<address>,
// #/workers, #/live?kod=true) keeps every view and its filters in the
// address, so views can be bookmarked and the back button works.
//
// Charts are uPlot 1.6.32, vendored from the npm package with its license
// (assets/vendor/uplot-1.6.32, README there; TestVendoredFilesArePinned
// checks the files against the checksums it lists). Measured against
// Apache ECharts 6.1.0 on 2026-12-02 in headless Chromium 156 on this 2-core
// machine, a page drawing one line of 10,000 points, time from the call to
// the frame after the chart reported it was drawn (performance.now(); first
// render after load, then the median of 10 more):
//
//	                 min.js      gzip    10,000 points: first   median
//	uPlot 1.6.32      51 KB     22 KB                  35–73 ms  10–18 ms
//	ECharts 6.1.0   1122 KB    368 KB                 116–131 ms  26–45 ms
//	  (echarts.simple.min.js, line charts only: 500 KB, 169 KB gzip)
//
// uPlot is 17 times smaller and 2–3 times faster, draws time series only —
// which is all the overview needs — and leaves gaps where the series has
// empty buckets. A chart asks for at most 1,000 points: the step is the
// finest multiple of 60 s that keeps the range within that.
//
// # Tokens
//
// When the collector answers 401 the page asks for a token once, in a
// dialog, keeps it in sessionStorage (this tab only, gone when it closes)
// and repeats the request with Authorization: Bearer; a 403 asks again,
// saying the admin token is needed. A cancelled dialog is not reopened by
// background refreshes, only by the operator's next action.
//
// The live view reads GET api/ntp/stream with fetch and parses the
// text/event-stream itself instead of using EventSource: EventSource cannot
// send an Authorization header, and a token in the query string
// (?access_token=) would be written to the collector's request log and to
// every proxy's access log. So the stream takes the same bearer token as
// every other endpoint, and needs no query parameter for it.
package dashboard
