// Package wire is the worker → collector protocol: newline-delimited JSON
// messages over one TCP connection per worker.
//
// # Conversation
//
// A worker opens with a hello; the collector answers welcome (with the highest
// sequence number it has committed for that worker) or error. The worker then
// streams session lines with strictly increasing seq and periodic stats lines;
// the collector acknowledges each committed batch with an ack carrying the
// highest committed seq. Every message is one JSON object on one line of at
// most MaxLine bytes.
//
// # Encoding and decoding
//
// Encoding and decoding are hand-written: the collector decodes every session
// it stores, and encoding/json would cost more than the store does.
package wire
