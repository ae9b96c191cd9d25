// Package flagdoc reads the two places where a command's flags are written
// down for people — the options of its --help, as urfave/cli prints them,
// and a flag table of the README (| flag | variable | default | meaning |)
// — so that a test can hold the two to each other and fail on any
// difference of name, environment variable or default.
//
// Defaults are compared as text after a light normalisation: the quotes
// --help puts around a string default and the backticks of the README go,
// a README "none" and a bool's "false" count as no default.
package flagdoc
