// Package syncbuf holds Buffer, a bytes.Buffer that several goroutines may
// write and read at once: a process's stdout and stderr copiers writing while
// a test reads what was logged so far.
package syncbuf
