package top

import (
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// ANSI sequences: plain VT100/xterm, understood by every terminal in use.
const (
	ansiAltScreen  = "\x1b[?1049h" // the alternate screen: the shell's scrollback is left as it was
	ansiMainScreen = "\x1b[?1049l"
	ansiHideCursor = "\x1b[?25l"
	ansiShowCursor = "\x1b[?25h"
	ansiHome       = "\x1b[H"
	ansiEraseLine  = "\x1b[K" // to the end of the line
	ansiEraseBelow = "\x1b[J" // from the cursor to the end of the screen
)

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// screen redraws frames in place on a terminal.
type screen struct {
	out *os.File
}

func openScreen(out *os.File) *screen {
	io.WriteString(out, ansiAltScreen+ansiHideCursor)
	return &screen{out: out}
}

// draw replaces what is on the screen with text. Each line is erased to its
// end rather than the whole screen cleared first, so the screen never
// flashes blank; lines are cut to the terminal's width and height, as a
// wrapped or scrolled line would break the redraw.
func (s *screen) draw(text string) error {
	cols, rows := 0, 0
	if ws, err := unix.IoctlGetWinsize(int(s.out.Fd()), unix.TIOCGWINSZ); err == nil {
		cols, rows = int(ws.Col), int(ws.Row)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if rows > 0 && len(lines) > rows {
		lines = lines[:rows]
	}
	var b strings.Builder
	b.WriteString(ansiHome)
	for i, l := range lines {
		if i > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString(cut(l, cols))
		b.WriteString(ansiEraseLine)
	}
	b.WriteString(ansiEraseBelow)
	_, err := io.WriteString(s.out, b.String())
	return err
}

func (s *screen) close() {
	io.WriteString(s.out, ansiShowCursor+ansiMainScreen)
}

// cut shortens l to at most n runes; n ≤ 0 leaves it whole.
func cut(l string, n int) string {
	if n <= 0 || utf8.RuneCountInString(l) <= n {
		return l
	}
	i := 0
	for j := range l {
		if i == n {
			return l[:j]
		}
		i++
	}
	return l
}

// keyboard puts a terminal in a mode where each key press is read at once,
// without echo; Ctrl-C still sends SIGINT. restore puts it back.
type keyboard struct {
	fd    int
	saved *unix.Termios
}

func rawKeys(in *os.File) (*keyboard, error) {
	fd := int(in.Fd())
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	saved := *t
	t.Lflag &^= unix.ICANON | unix.ECHO
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
		return nil, err
	}
	return &keyboard{fd: fd, saved: &saved}, nil
}

func (k *keyboard) restore() {
	unix.IoctlSetTermios(k.fd, unix.TCSETS, k.saved)
}

// watchQuit reads in until it sees q, Q or Ctrl-D (which in the keyboard's
// mode is a byte, not an end of file) and then closes quit. At the end of
// in (stdin is /dev/null, a closed pipe) it stops without closing quit:
// top then runs until it is interrupted.
func watchQuit(in io.Reader, quit chan<- struct{}) {
	buf := make([]byte, 64)
	for {
		n, err := in.Read(buf)
		for _, c := range buf[:n] {
			if c == 'q' || c == 'Q' || c == 4 {
				close(quit)
				return
			}
		}
		if err != nil {
			return
		}
	}
}
