// Package testkit is the root of ntp-monitor's test infrastructure. Nothing
// under it is imported by the product: only tests, benchmarks and the
// programs under scripts/ use it.
//
//   - testnet: network namespaces joined by a bridge, with real chronyd and
//     ntpsec servers and clients that cannot touch the host clock.
//   - pcapgen: synthetic NTP captures, valid to tshark, for tests and
//     benchmarks.
//   - pcapfile: reading and writing pcap files without cgo.
//   - tsharktest: tshark's dissection of a capture, to cross-check decoders.
//   - syncbuf: a buffer that concurrent writers and readers share, for
//     captured process output and logs.
//   - pgtest: throwaway PostgreSQL servers, one per test or one per
//     package with a database per test.
//   - browser: headless Chromium driven over the DevTools protocol, which
//     records console errors, exceptions and failed requests, and takes
//     screenshots.
//   - testpki: certificate authorities and the certificates they issue,
//     for tests of TLS and mutual TLS.
//   - flagdoc: a command's flags as its --help and the README's flag
//     tables write them, for the tests that hold the two together.
//   - leftover: claims on what a test owns, so that what a killed test
//     binary left running is reaped by the next one (pgtest and browser
//     use it; testnet keeps records of its own, for namespaces and links).
//
// Test kits that belong to one package (store/storetest,
// ingest/ingesttest) stay beside that package, as net/http/httptest does.
package testkit
