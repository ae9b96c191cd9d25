package flagdoc

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Flag is one flag as a document shows it.
type Flag struct {
	// Names are the flag's spellings, the long one first: "--interface",
	// "-i".
	Names []string
	// Env is the environment variable that sets it, "" when none.
	Env string
	// Default is the default as shown, normalised; "" when none.
	Default string
}

// Name is the flag's first spelling.
func (f Flag) Name() string { return f.Names[0] }

var (
	// An option line: three spaces, the names ("--interface value, -i
	// value"), two or more spaces, the usage.
	optionLine = regexp.MustCompile(`^ {2,}(-\S.*?) {2,}(.*)$`)
	envSuffix  = regexp.MustCompile(` \[\$([A-Z0-9_]+)(?:, \$[A-Z0-9_]+)*\]$`)
)

// builtIn are the flags urfave/cli adds, which no README table lists.
var builtIn = []string{"--help", "--version"}

// Help returns the flags of a --help text, in order, leaving out --help
// and --version.
func Help(text string) ([]Flag, error) {
	var out []Flag
	in := false
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasSuffix(line, "OPTIONS:"):
			in = true
			continue
		case !in:
			continue
		case strings.TrimSpace(line) == "":
			in = false
			continue
		}
		m := optionLine.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("flagdoc: not an option line: %q", line)
		}
		var f Flag
		// A flag that may repeat is written "--name value [ --name value ]".
		names, _, _ := strings.Cut(m[1], " [ ")
		for n := range strings.SplitSeq(names, ", ") {
			f.Names = append(f.Names, strings.TrimSuffix(n, " value"))
		}
		usage := m[2]
		if e := envSuffix.FindStringSubmatchIndex(usage); e != nil {
			f.Env = usage[e[2]:e[3]]
			usage = usage[:e[0]]
		}
		if i := strings.LastIndex(usage, "(default: "); i >= 0 && strings.HasSuffix(usage, ")") {
			f.Default = helpDefault(usage[i+len("(default: ") : len(usage)-1])
		}
		if !slices.Contains(builtIn, f.Name()) {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("flagdoc: no options in the help text")
	}
	return out, nil
}

func helpDefault(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	if s == "false" { // a bool flag that is off
		return ""
	}
	return s
}

// Row is one row of a README flag table.
type Row struct {
	// Command is the subcommand the row is about when its flag cell names
	// one (`clients --sort`), "" when the row is about every command the
	// table covers.
	Command string
	Flag
}

// Table returns the rows of the first flag table after the line heading
// (a Markdown heading, whole, such as "## ntp-worker").
func Table(readme, heading string) ([]Row, error) {
	lines := strings.Split(readme, "\n")
	start := slices.Index(lines, heading)
	if start < 0 {
		return nil, fmt.Errorf("flagdoc: no heading %q", heading)
	}
	i := start + 1
	for i < len(lines) && !strings.HasPrefix(lines[i], "| flag |") {
		if strings.HasPrefix(lines[i], "#") && headingLevel(lines[i]) <= headingLevel(heading) {
			break
		}
		i++
	}
	if i == len(lines) || !strings.HasPrefix(lines[i], "| flag |") {
		return nil, fmt.Errorf("flagdoc: no flag table under %q", heading)
	}
	if cells := splitRow(lines[i]); !slices.Equal(cells, []string{"flag", "variable", "default", "meaning"}) {
		return nil, fmt.Errorf("flagdoc: table under %q has columns %q", heading, cells)
	}
	var out []Row
	for _, line := range lines[i+2:] {
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := splitRow(line)
		if len(cells) != 4 {
			return nil, fmt.Errorf("flagdoc: row %q has %d cells, want 4", line, len(cells))
		}
		var r Row
		for _, code := range codeSpans(cells[0]) {
			if cmd, flag, ok := strings.Cut(code, " "); ok {
				r.Command, code = cmd, flag
			}
			r.Names = append(r.Names, code)
		}
		if len(r.Names) == 0 {
			return nil, fmt.Errorf("flagdoc: row %q names no flag", line)
		}
		r.Env = strings.Trim(cells[1], "`")
		r.Default = strings.ReplaceAll(cells[2], "`", "")
		if r.Default == "none" {
			r.Default = ""
		}
		out = append(out, r)
	}
	return out, nil
}

func headingLevel(line string) int { return len(line) - len(strings.TrimLeft(line, "#")) }

// splitRow splits a Markdown table row into its trimmed cells; an escaped
// \| stays inside its cell, unescaped.
func splitRow(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimSuffix(strings.TrimPrefix(line, "|"), "|")
	var cells []string
	var cell strings.Builder
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && line[i+1] == '|':
			cell.WriteByte('|')
			i++
		case line[i] == '|':
			cells = append(cells, strings.TrimSpace(cell.String()))
			cell.Reset()
		default:
			cell.WriteByte(line[i])
		}
	}
	return append(cells, strings.TrimSpace(cell.String()))
}

// codeSpans returns the `code` spans of a cell, in order.
func codeSpans(cell string) []string {
	var out []string
	for {
		_, rest, ok := strings.Cut(cell, "`")
		if !ok {
			return out
		}
		code, after, ok := strings.Cut(rest, "`")
		if !ok {
			return out
		}
		out = append(out, code)
		cell = after
	}
}

// For returns the flags of the rows that are about command: those that
// name it and those that name no command.
func For(rows []Row, command string) []Flag {
	var out []Flag
	for _, r := range rows {
		if r.Command == "" || r.Command == command {
			out = append(out, r.Flag)
		}
	}
	return out
}

// Diff lists every difference between the flags of a --help and those a
// README documents, one sentence each; none when they agree.
func Diff(help, readme []Flag) []string {
	var out []string
	byName := func(fs []Flag, name string) (Flag, bool) {
		i := slices.IndexFunc(fs, func(f Flag) bool { return f.Name() == name })
		if i < 0 {
			return Flag{}, false
		}
		return fs[i], true
	}
	for _, h := range help {
		r, ok := byName(readme, h.Name())
		if !ok {
			out = append(out, fmt.Sprintf("%s is in --help, not in the README", h.Name()))
			continue
		}
		if !slices.Equal(h.Names, r.Names) {
			out = append(out, fmt.Sprintf("%s: spelt %q in --help, %q in the README", h.Name(), h.Names, r.Names))
		}
		if h.Env != r.Env {
			out = append(out, fmt.Sprintf("%s: variable %q in --help, %q in the README", h.Name(), h.Env, r.Env))
		}
		if h.Default != r.Default {
			out = append(out, fmt.Sprintf("%s: default %q in --help, %q in the README", h.Name(), h.Default, r.Default))
		}
	}
	for _, r := range readme {
		if _, ok := byName(help, r.Name()); !ok {
			out = append(out, fmt.Sprintf("%s is in the README, not in --help", r.Name()))
		}
	}
	return out
}
