// Package ntp is the NTP wire format (RFC 5905, with the NTPv1–v3 packets
// that share its header, the mode 6 and mode 7 control packets, and the
// extension fields and MAC of RFC 7822).
//
// Decoding fills a caller-owned Packet and neither allocates nor keeps a
// reference to the input, so a capture loop can decode every packet into the
// same Packet value.
//
// # Where it sits
//
// The input is the UDP payload that package frame cut out of a captured
// frame; the decoded Packet goes to package pairing, which matches requests
// with responses, and to package fingerprint, which reads the request's
// fields. The package knows nothing of sessions, sockets or capture: it
// must stay a pure function of bytes, which is what lets FuzzDecode hold it
// to tshark's dissection.
package ntp
