// Package termtable prints aligned text tables for terminals, in the manner
// of `chronyc clients` or `ntpq -c mrulist`: a header row, then one row per
// record, columns separated by two spaces, text left-aligned and figures
// right-aligned so that their digits line up.
//
// Widths are counted in runes, so "µs" is as wide as "us". Lines carry no
// trailing spaces. Because the gap between columns is two spaces, a reader
// (a person or a test) can split a line on runs of two or more spaces as
// long as no cell holds two spaces in a row; the commands that use this
// package keep that true by writing "-" for an empty value.
package termtable
