package collector

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// recorder notes the order in which components return.
type recorder struct {
	mu    sync.Mutex
	order []string
}

func (r *recorder) note(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.order = append(r.order, name)
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.order, ",")
}

// untilCancelled runs until its context ends, taking a moment to clean up,
// and checks that the component added after it had already returned.
func untilCancelled(r *recorder, name string) func(context.Context) error {
	return func(ctx context.Context) error {
		<-ctx.Done()
		time.Sleep(10 * time.Millisecond)
		r.note(name)
		return nil
	}
}

func TestGroupStopsInReverseOrder(t *testing.T) {
	tests := []struct {
		name    string
		trigger func(cancel context.CancelFunc) func(context.Context) error
		wantErr string
		want    string
	}{
		{
			name: "signal",
			trigger: func(cancel context.CancelFunc) func(context.Context) error {
				return func(ctx context.Context) error {
					cancel()
					<-ctx.Done()
					return nil
				}
			},
			want: "c,b,a",
		},
		{
			name: "component fails",
			trigger: func(context.CancelFunc) func(context.Context) error {
				return func(context.Context) error { return errors.New("port in use") }
			},
			wantErr: "trigger: port in use",
			want:    "c,b,a",
		},
		{
			name: "component returns early",
			trigger: func(context.CancelFunc) func(context.Context) error {
				return func(context.Context) error { return nil }
			},
			wantErr: "trigger stopped unexpectedly",
			want:    "c,b,a",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r := &recorder{}
			g := Group{Logger: quiet}
			g.Add("a", untilCancelled(r, "a"))
			g.Add("b", untilCancelled(r, "b"))
			g.Add("trigger", tc.trigger(cancel))
			g.Add("c", untilCancelled(r, "c"))
			err := g.Run(ctx)
			if tc.wantErr == "" && err != nil {
				t.Errorf("Run: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("Run error %v, want %q", err, tc.wantErr)
			}
			if got := r.String(); got != tc.want {
				t.Errorf("stop order %s, want %s", got, tc.want)
			}
		})
	}
}

// A component that ignores its context is abandoned after StopTimeout and
// the others still stop.
func TestGroupStopTimeout(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &recorder{}
	block := make(chan struct{})
	defer close(block)
	g := Group{Logger: quiet, StopTimeout: 50 * time.Millisecond}
	g.Add("a", untilCancelled(r, "a"))
	g.Add("stuck", func(context.Context) error { <-block; return nil })
	cancel()
	err := g.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "stuck did not stop within 50ms") {
		t.Errorf("Run error %v, want the stuck component named", err)
	}
	if got := r.String(); got != "a" {
		t.Errorf("stopped %q, want a", got)
	}
}
