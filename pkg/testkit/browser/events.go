package browser

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
)

// Message is a console message, an uncaught exception or a browser log
// entry of the page.
type Message struct {
	// Level is the console API's type for a console call ("log",
	// "info", "warning", "error", "assert", …), "exception" for an
	// uncaught exception or unhandled rejection, and the log level for a
	// browser log entry ("verbose", "info", "warning", "error").
	Level string
	// Source is set for a browser log entry only: "network", "security",
	// "javascript", …
	Source string
	Text   string
	// URL and Line say where it came from, when the browser knows.
	URL  string
	Line int64
}

// String returns the message as a test failure shows it.
func (m Message) String() string {
	s := m.Level
	if m.Source != "" {
		s += " (" + m.Source + ")"
	}
	s += ": " + m.Text
	if m.URL != "" {
		s += fmt.Sprintf(" [%s:%d]", m.URL, m.Line+1)
	}
	return s
}

// IsError reports whether the message is an error: a console.error or
// failed console.assert, an uncaught exception, or a browser log entry of
// level error.
func (m Message) IsError() bool {
	switch m.Level {
	case "error", "assert", "exception":
		return true
	}
	return false
}

// Request is a network request of the page that failed: it got no
// response (Error says why), or a response with an HTTP status of 400 or
// more.
type Request struct {
	URL    string
	Method string
	// Status is the HTTP status, 0 when no response came.
	Status int
	// Error is the browser's reason when no response came, e.g.
	// "net::ERR_CONNECTION_REFUSED".
	Error string
	// Canceled is set when the page or the browser gave the request up,
	// e.g. by navigating away or aborting a fetch: not a failure of the
	// server, so Problems leaves it out.
	Canceled bool
}

// String returns the request as a test failure shows it.
func (r Request) String() string {
	if r.Status != 0 {
		return fmt.Sprintf("%s %s: HTTP %d", r.Method, r.URL, r.Status)
	}
	s := fmt.Sprintf("%s %s: %s", r.Method, r.URL, r.Error)
	if r.Canceled {
		s += " (canceled)"
	}
	return s
}

// eventLog keeps what the page reported. record runs in chromedp's
// reading loop, before the reply to the command that follows the event
// is read, so it only appends under a lock.
type eventLog struct {
	mu       sync.Mutex
	messages []Message
	failed   []Request
	pending  map[network.RequestID]*network.Request
}

func (l *eventLog) record(ev any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		m := Message{Level: string(e.Type), Text: argsText(e.Args)}
		if st := e.StackTrace; st != nil && len(st.CallFrames) > 0 {
			m.URL, m.Line = st.CallFrames[0].URL, st.CallFrames[0].LineNumber
		}
		l.messages = append(l.messages, m)
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		m := Message{Level: "exception", Text: d.Text, URL: d.URL, Line: d.LineNumber}
		if d.Exception != nil && d.Exception.Description != "" {
			// The description is the error and its stack: keep the
			// first line.
			first, _, _ := strings.Cut(d.Exception.Description, "\n")
			m.Text += " " + first
		}
		l.messages = append(l.messages, m)
	case *log.EventEntryAdded:
		en := e.Entry
		l.messages = append(l.messages, Message{Level: string(en.Level), Source: string(en.Source), Text: en.Text, URL: en.URL, Line: en.LineNumber})
	case *network.EventRequestWillBeSent:
		if l.pending == nil {
			l.pending = make(map[network.RequestID]*network.Request)
		}
		l.pending[e.RequestID] = e.Request
	case *network.EventResponseReceived:
		req := l.pending[e.RequestID]
		delete(l.pending, e.RequestID)
		if r := e.Response; r != nil && r.Status >= 400 {
			l.failed = append(l.failed, Request{URL: r.URL, Method: method(req), Status: int(r.Status)})
		}
	case *network.EventLoadingFailed:
		req := l.pending[e.RequestID]
		delete(l.pending, e.RequestID)
		r := Request{Method: method(req), Error: e.ErrorText, Canceled: e.Canceled}
		if req != nil {
			r.URL = req.URL
		}
		if e.BlockedReason != "" {
			r.Error += " (blocked: " + string(e.BlockedReason) + ")"
		}
		l.failed = append(l.failed, r)
	case *network.EventLoadingFinished:
		delete(l.pending, e.RequestID)
	}
}

func method(r *network.Request) string {
	if r == nil {
		return ""
	}
	return r.Method
}

// argsText joins a console call's arguments as the console shows them,
// roughly: strings as they are, other values by their description.
func argsText(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		var s string
		switch {
		case a.Type == runtime.RemoteObjectTypeString && len(a.Value) > 0:
			if err := json.Unmarshal(a.Value, &s); err != nil {
				s = string(a.Value)
			}
		case a.Description != "":
			s = a.Description
		case len(a.Value) > 0:
			s = string(a.Value)
		case a.UnserializableValue != "":
			s = string(a.UnserializableValue)
		default:
			s = string(a.Type)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// Messages returns every console message, exception and log entry so far.
func (b *Browser) Messages() []Message {
	b.log.mu.Lock()
	defer b.log.mu.Unlock()
	return append([]Message(nil), b.log.messages...)
}

// FailedRequests returns every failed request so far, canceled ones
// included.
func (b *Browser) FailedRequests() []Request {
	b.log.mu.Lock()
	defer b.log.mu.Unlock()
	return append([]Request(nil), b.log.failed...)
}

// Problems returns, one a line, each error message (see Message.IsError)
// and each failed request that was not canceled, so far: empty when the
// page was clean.
func (b *Browser) Problems() []string {
	var p []string
	for _, m := range b.Messages() {
		if m.IsError() {
			p = append(p, m.String())
		}
	}
	for _, r := range b.FailedRequests() {
		if !r.Canceled {
			p = append(p, r.String())
		}
	}
	return p
}

// Clear forgets the messages and failed requests so far, e.g. between the
// views a test checks one by one.
func (b *Browser) Clear() {
	b.log.mu.Lock()
	defer b.log.mu.Unlock()
	b.log.messages, b.log.failed = nil, nil
}
