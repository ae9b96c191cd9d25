// Package apitoken is the file that holds the collector's admin API token,
// in its state directory beside the database: its name, its format, and
// how the collector makes it on its first start.
//
// A collector started without a token of its own (no --api-token, no
// --api-token-file) generates one there, 256 random bits in hex, in a file
// only its user can read (0600), and uses it from then on; a collector
// given a token keeps a copy of it there. Either way the file holds the
// token in use, so the terminal commands on the same host (package
// apiclient, FindStateToken) and an operator with `cat` find it without
// the token ever being printed, logged or put on a command line.
//
// The file's content is the token and a newline; readers trim white space.
package apitoken
