// Command standin behaves like an ntp-worker process for the supervisor's
// tests where the behaviour of the real worker cannot be chosen: it parses
// the worker's flags, and STANDIN_MODE picks what it does.
//
//	run (default)  log a line, wait for SIGTERM, log "flushed", exit 0
//	exit           log a capture-permission error and exit 1 at once
//	ignore-term    ignore SIGTERM (so the supervisor must SIGKILL)
//	spam           log STANDIN_SPAM_LINES lines of 100 bytes, then wait as run
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	fs := flag.NewFlagSet("standin", flag.ExitOnError)
	iface := fs.String("interface", "", "")
	fs.Int("port", 123, "")
	fs.String("timeout", "2s", "")
	fs.String("ingestion-host", "", "")
	fs.Int("ingestion-port", 0, "")
	fs.Int("snaplen", 0, "")
	fs.Int("buffer-size", 0, "")
	fs.String("log-level", "", "")
	fs.String("log-format", "", "")
	fs.Parse(os.Args[1:])

	sigs := make(chan os.Signal, 1)
	mode := os.Getenv("STANDIN_MODE")
	if mode == "ignore-term" {
		signal.Ignore(syscall.SIGTERM)
	} else {
		signal.Notify(sigs, syscall.SIGTERM)
	}
	fmt.Fprintf(os.Stderr, "standin: capturing on %s args=%q token_set=%v ntp_env=%q\n",
		*iface, os.Args[1:], os.Getenv("NTP_TOKEN") != "", ntpEnv())
	switch mode {
	case "exit":
		fmt.Fprintf(os.Stderr, "standin: %s: You don't have permission to capture on that device (socket: Operation not permitted)\n", *iface)
		os.Exit(1)
	case "spam":
		n, _ := strconv.Atoi(os.Getenv("STANDIN_SPAM_LINES"))
		line := strings.Repeat("x", 90)
		for i := 0; i < n; i++ {
			fmt.Fprintf(os.Stdout, "%08d %s\n", i, line)
			if i%100 == 99 {
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
	if mode == "ignore-term" {
		for {
			time.Sleep(time.Hour)
		}
	}
	<-sigs
	fmt.Fprintln(os.Stderr, "standin: SIGTERM: flushed, all acked")
	os.Exit(0)
}

func ntpEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "NTP_") {
			k, _, _ := strings.Cut(kv, "=")
			out = append(out, k)
		}
	}
	return out
}
