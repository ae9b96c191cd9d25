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
//
// Test kits that belong to one package (store/storetest,
// ingest/ingesttest) stay beside that package, as net/http/httptest does.
package testkit
