// Package tsharktest runs tshark's dissectors over a capture so that tests
// can compare their own decoding with Wireshark's, field by field.
package tsharktest
