// Package human formats numbers for people reading a terminal: durations in
// the unit that keeps three significant digits (842 µs, 3.58 ms, 4.22 s),
// ages relative to now (3 min ago, 2 h ago), counts with thousands
// separators (1,234,567) and ratios as percentages.
//
// Every function returns "-" for a value that is absent (a nil pointer), so
// a table column never shows an empty cell and a reader can tell "no value"
// from zero. The output is meant for display only: scripts should read the
// numbers from JSON, where nothing is rounded.
package human

// Missing is what every function returns for an absent value.
const Missing = "-"
