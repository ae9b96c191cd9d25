package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ntp-monitor/ntp-monitor/pkg/logging"
)

// Group is a set of long-running components. Each runs until its context is
// cancelled and then returns once it has cleaned up.
type Group struct {
	// StopTimeout bounds how long Run waits for each component to return
	// after cancelling it; a component still running after that is
	// abandoned and reported. Default 30s.
	StopTimeout time.Duration
	Logger      *slog.Logger

	comps []component
}

type component struct {
	name string
	run  func(context.Context) error
}

// Add registers a component. Components stop in the reverse order of Add:
// add what others depend on first (ingestion before the worker supervisor,
// so that stopped workers' last sessions are still received and committed).
func (g *Group) Add(name string, run func(ctx context.Context) error) {
	g.comps = append(g.comps, component{name, run})
}

type result struct {
	i   int
	err error
}

// Run starts every component and blocks until ctx is cancelled or one of
// them returns; then it stops the rest in reverse order of Add, each one
// cancelled only after the one added after it has returned. It returns the
// first error of a component that stopped on its own, joined with any error
// returned during the shutdown.
func (g *Group) Run(ctx context.Context) error {
	log := g.Logger
	if log == nil {
		log = slog.Default()
	}
	stopTimeout := g.StopTimeout
	if stopTimeout <= 0 {
		stopTimeout = 30 * time.Second
	}
	n := len(g.comps)
	cancels := make([]context.CancelFunc, n)
	dones := make([]chan error, n)
	results := make(chan result, n)
	for i, c := range g.comps {
		cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		cancels[i] = cancel
		dones[i] = make(chan error, 1)
		go func() {
			err := c.run(cctx)
			dones[i] <- err
			results <- result{i, err}
		}()
	}

	var errs []error
	exited := make([]bool, n)
	select {
	case <-ctx.Done():
		log.Info("shutting down", "reason", context.Cause(ctx))
	case r := <-results:
		// Drain the copy Run's stop loop would otherwise wait for.
		<-dones[r.i]
		exited[r.i] = true
		name := g.comps[r.i].name
		if r.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, r.err))
			log.Error("component failed; shutting down", "component", name, logging.KeyErr, r.err)
		} else {
			errs = append(errs, fmt.Errorf("%s stopped unexpectedly", name))
			log.Error("component stopped unexpectedly; shutting down", "component", name)
		}
	}

	for i := n - 1; i >= 0; i-- {
		name := g.comps[i].name
		cancels[i]()
		if exited[i] {
			continue
		}
		start := time.Now()
		select {
		case err := <-dones[i]:
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
			log.Info("component stopped", "component", name, "took", time.Since(start).Round(time.Millisecond))
		case <-time.After(stopTimeout):
			errs = append(errs, fmt.Errorf("%s did not stop within %s", name, stopTimeout))
			log.Error("component did not stop in time", "component", name, "timeout", stopTimeout)
		}
	}
	return errors.Join(errs...)
}
