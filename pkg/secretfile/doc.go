// Package secretfile reads a secret, such as the token workers present to
// the collector, from a file. A secret given as a command-line flag shows in
// ps and in /proc/<pid>/cmdline to every user of the host; in a file it is
// guarded by the file's mode, which should be 0600.
package secretfile
