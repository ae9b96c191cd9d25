// Package termtabletest checks terminal output in tests: golden files under
// testdata/, rewritten with -update, and the cells of a termtable line.
package termtabletest
