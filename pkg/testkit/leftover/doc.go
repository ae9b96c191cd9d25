// Package leftover lets a test kit clean up after a test binary that died
// before its cleanups ran: killed with SIGKILL, or ended by go test -timeout.
//
// A kit that owns a directory for the length of a test (a PostgreSQL data
// directory, a browser profile) claims it with Claim. The claim is a small
// file in the kit's state directory that names the directory and its owner,
// the calling process, as a PID and a start time, so that a later process
// with the same PID is never taken for the owner. When the test ends, the kit
// stops what runs in the directory, removes it and calls Record.Release.
//
// The next time the kit starts, in any test binary, it calls Reap first:
// for each claim whose owner is gone, Reap kills every process that belongs
// to the directory (see KillUsing), lets the kit clean what lives outside it
// (a shared memory segment, say), removes the directory and the claim.
// Claims of live owners are never touched, and reapers in test binaries that
// run in parallel tolerate each other.
//
// Typical use, in a kit:
//
//	reaped, err := leftover.Reap("pgtest", removeSharedMemory)
//	dir, err := os.MkdirTemp("", "ntpm-pg-")
//	rec, err := leftover.Claim("pgtest", dir)
//	// … run the server in dir …
//	// at cleanup:
//	leftover.KillUsing(dir)
//	os.RemoveAll(dir)
//	rec.Release()
//
// RunKilled is for a kit's test of its reaper: it runs the test again in a
// child process and kills it with SIGKILL once the child has set up what
// must be reaped and said so with Ready. It then removes the child's
// t.TempDir directories, which are no kit's to reap.
//
// Processes are found and killed by PID alone, never by name: a process
// belongs to a directory when its working directory is in it, or when one of
// its arguments names it (as Chromium passes --user-data-dir=DIR to each of
// its children). The directories are unique temp directories, so nothing
// else matches.
package leftover
